package io.netpoll.poll

import io.kotest.core.spec.style.FunSpec
import io.netpoll.modelChecking
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.annotations.Validate
import org.jetbrains.kotlinx.lincheck.check
import java.util.concurrent.atomic.AtomicInteger

/**
 * Model-checks [WaitWord]'s protocol with Lincheck: one waiter (Go's `netpollblock`: prepare,
 * commit, then cancel or be woken, then finish) against any number of concurrent unblocks (I/O
 * readiness from the poller, a deadline or a close from other threads). Lincheck runs every
 * interleaving it explores and requires each concurrent history to match some one-at-a-time order
 * of [WaitWordModel], the protocol written as plain sequential code; so a lost or double wake-up, a
 * waiter both cancelled and woken, a readiness that vanishes or one latched by a timeout fails the
 * test with the schedule that caused it.
 */
class WaitWordLincheckTest : FunSpec({
    test("every interleaving of a waiter with readiness, timeouts and closes is linearizable") {
        modelChecking()
            // the races that matter, explored on every run and checked down to the word's final state:
            // an unblock between prepare and commit, a cancel racing unblocks, two unblocks racing
            // for one parked waiter
            .addCustomScenario {
                initial { actor(WaitWordOps::prepare) }
                parallel {
                    thread { actor(WaitWordOps::commit) }
                    thread { actor(WaitWordOps::ready) }
                    thread { actor(WaitWordOps::expire) }
                }
                post { actor(WaitWordOps::state) }
            }
            .addCustomScenario {
                parallel {
                    thread { actor(WaitWordOps::prepare); actor(WaitWordOps::commit); actor(WaitWordOps::leave) }
                    thread { actor(WaitWordOps::ready); actor(WaitWordOps::state) }
                    thread { actor(WaitWordOps::expire) }
                }
                post { actor(WaitWordOps::state) }
            }
            .addCustomScenario {
                initial { actor(WaitWordOps::prepare); actor(WaitWordOps::commit) }
                parallel {
                    thread { actor(WaitWordOps::leave); actor(WaitWordOps::prepare) }
                    thread { actor(WaitWordOps::ready) }
                    thread { actor(WaitWordOps::expire); actor(WaitWordOps::ready) }
                }
                post { actor(WaitWordOps::state) }
            }
            // and random scenarios over all operations (the suite's budget, see modelChecking)
            .actorsBefore(2)
            .actorsAfter(2)
            .sequentialSpecification(WaitWordModel::class.java)
            .check(WaitWordOps::class.java)
    }
})

/**
 * The operations Lincheck calls. The waiter's steps run on one thread at a time
 * (`nonParallelGroup`), as a word has one waiter, and are split where the real waiter can be
 * interrupted (between prepare and commit, while parked); [ready] and [expire] may run on any
 * thread. Every operation is total: one that does not apply in the waiter's current phase says so.
 */
class WaitWordOps {
    private val word = WaitWord()

    /** One waiter per park; each counts its wake-ups and remembers whether it cancelled itself. */
    private class CountingWaiter : Waiter {
        val wakes = AtomicInteger()
        @Volatile var cancelled = false
        override fun wake() {
            wakes.incrementAndGet()
        }
    }

    private val parks = ArrayList<CountingWaiter>()
    private var waiter: CountingWaiter? = null

    /** The waiter thread's own phase: [IDLE], [PREPARED] (word moved to WAIT) or [PARKED]. */
    private var phase = IDLE

    /** Go's netpollblock, first step: consume latched readiness, or announce a wait. */
    @Operation(nonParallelGroup = "waiter")
    fun prepare(): String {
        if (phase != IDLE) return "skipped"
        if (word.prepare()) return "ready, no wait"
        phase = PREPARED
        return "prepared"
    }

    /** Second step: park, or find that an unblock came between prepare and commit, and finish. */
    @Operation(nonParallelGroup = "waiter")
    fun commit(): String {
        if (phase != PREPARED) return "skipped"
        val w = CountingWaiter()
        if (word.commit(w)) {
            waiter = w
            parks += w
            phase = PARKED
            return "parked"
        }
        phase = IDLE
        return if (word.finish()) "ready before commit" else "unblocked before commit"
    }

    /**
     * A parked waiter leaves (cancelled, or it saw its wake-up): it takes itself out of the word,
     * or an unblock already took it and finish reports whether readiness is latched.
     */
    @Operation(nonParallelGroup = "waiter")
    fun leave(): String {
        if (phase != PARKED) return "skipped"
        phase = IDLE
        val w = checkNotNull(waiter)
        if (word.cancel(w)) {
            w.cancelled = true
            return "cancelled"
        }
        return if (word.finish()) "taken, ready" else "taken, not ready"
    }

    /** The poller reports I/O readiness; true if it took the parked waiter out (and woke it). */
    @Operation
    fun ready(): Boolean = unblock(true)

    /** A deadline or close moves the word on without latching readiness. */
    @Operation
    fun expire(): Boolean = unblock(false)

    /** The word's state, the parked waiter shown as "waiter". */
    @Operation
    fun state(): String = word.toString().takeIf { it == "NIL" || it == "READY" || it == "WAIT" } ?: "waiter"

    /**
     * After each run: every park was woken at most once, and a waiter that took itself out was never
     * woken (a wake is delivered after the unblock that took the waiter, so it is checked here, not
     * as an operation's result).
     */
    @Validate
    fun eachParkWokenAtMostOnce() {
        for (w in parks) {
            check(w.wakes.get() <= 1) { "a parked waiter was woken ${w.wakes.get()} times" }
            check(!(w.cancelled && w.wakes.get() > 0)) { "a cancelled waiter was woken" }
        }
    }

    private fun unblock(ioready: Boolean): Boolean {
        val w = word.unblock(ioready) ?: return false
        w.wake()
        return true
    }

    private companion object {
        const val IDLE = 0
        const val PREPARED = 1
        const val PARKED = 2
    }
}

/**
 * The protocol as plain sequential code, the specification [WaitWordOps] is checked against: the
 * word is one of "NIL", "READY", "WAIT" or "waiter"; only readiness latches READY, which stays until
 * a waiter consumes it; a timeout or close takes a parked waiter out and clears WAIT.
 */
class WaitWordModel {
    private var word = "NIL"
    private var phase = 0 // 0 idle, 1 prepared, 2 parked

    fun prepare(): String {
        if (phase != 0) return "skipped"
        if (word == "READY") {
            word = "NIL"
            return "ready, no wait"
        }
        word = "WAIT"
        phase = 1
        return "prepared"
    }

    fun commit(): String {
        if (phase != 1) return "skipped"
        if (word == "WAIT") {
            word = "waiter"
            phase = 2
            return "parked"
        }
        phase = 0
        return if (finish()) "ready before commit" else "unblocked before commit"
    }

    fun leave(): String {
        if (phase != 2) return "skipped"
        phase = 0
        if (word == "waiter") {
            word = "NIL"
            return "cancelled"
        }
        return if (finish()) "taken, ready" else "taken, not ready"
    }

    fun ready(): Boolean {
        val took = word == "waiter"
        word = "READY"
        return took
    }

    fun expire(): Boolean {
        val took = word == "waiter"
        if (word != "READY") word = "NIL"
        return took
    }

    fun state(): String = word

    private fun finish(): Boolean {
        val ready = word == "READY"
        word = "NIL"
        return ready
    }
}
