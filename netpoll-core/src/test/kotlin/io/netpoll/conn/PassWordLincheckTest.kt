package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.netpoll.modelChecking
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.annotations.Validate
import org.jetbrains.kotlinx.lincheck.check
import java.util.concurrent.atomic.AtomicInteger

/**
 * Model-checks [PassWord], the rule `onRequest` and `ShardQueue` run their passes by, with Lincheck:
 * three threads trigger work (each pass runs inline on the thread whose trigger claimed it, as an
 * inline handler runs on its poller), and one of them may ask for a finish once drained (a
 * connection's EOF). After every interleaving explored: two passes never ran at once, no work was
 * left unseen, the word is idle, and a requested finish happened.
 */
class PassWordLincheckTest : FunSpec({
    test("one pass at a time, no trigger left unseen, and a finish requested at the end always happens") {
        modelChecking()
            // the races that matter on every run: triggers landing while a pass ends, and the
            // finish request racing a pass that is going idle
            .addCustomScenario {
                parallel {
                    thread { actor(PassWordOps::trigger); actor(PassWordOps::trigger) }
                    thread { actor(PassWordOps::trigger) }
                    thread { actor(PassWordOps::trigger) }
                }
            }
            .addCustomScenario {
                parallel {
                    thread { actor(PassWordOps::trigger) }
                    thread { actor(PassWordOps::requestFinish) }
                    thread { actor(PassWordOps::trigger) }
                }
            }
            .actorsBefore(1)
            .actorsAfter(1)
            .check(PassWordOps::class.java)
    }
})

/** One word; the "work" is a counter that triggers raise and passes take to zero. */
class PassWordOps {
    private val word = PassWord()
    private val pending = AtomicInteger()
    private val triggered = AtomicInteger()
    private val done = AtomicInteger()
    private val inPass = AtomicInteger()
    private val finishes = AtomicInteger()
    @Volatile private var finishAsked = false
    @Volatile private var overlapped = false

    /** Makes one unit of work visible, then claims; the winner runs the pass right here. */
    @Operation
    fun trigger() {
        triggered.incrementAndGet()
        pending.incrementAndGet()
        if (word.claim()) pass()
    }

    /** A connection's EOF: finish once no pass is running. */
    @Operation
    fun requestFinish() {
        finishAsked = true
        if (word.requestFinish()) finishes.incrementAndGet()
    }

    private fun pass() {
        enter()
        while (true) {
            word.beginRound()
            done.addAndGet(pending.getAndSet(0))
            inPass.decrementAndGet() // before going idle: a pass claimed right after is not an overlap
            if (word.endPass()) break
            enter()
        }
        if (word.finishRequested()) finishes.incrementAndGet()
    }

    private fun enter() {
        if (inPass.incrementAndGet() != 1) overlapped = true
    }

    @Validate
    fun onePassNothingStrandedFinished() {
        check(!overlapped) { "two passes ran at once" }
        check(pending.get() == 0) { "${pending.get()} units of work left unseen" }
        check(done.get() == triggered.get()) { "${done.get()} of ${triggered.get()} units done" }
        check(!word.busy()) { "the word is not idle after every pass ended" }
        check(!finishAsked || finishes.get() > 0) { "a finish was requested and never happened" }
    }
}
