package io.netpoll.timer

import io.kotest.core.spec.style.FunSpec
import io.netpoll.modelChecking
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.annotations.Validate
import org.jetbrains.kotlinx.lincheck.check
import java.util.concurrent.atomic.AtomicInteger

/**
 * Model-checks [TimerWheel] and [Timeout] with Lincheck: the owner thread moves a fake clock and
 * schedules, while other threads schedule (through the wheel's queue) and cancel. After every
 * interleaving explored, each timeout either ran exactly once, never before its deadline, or was
 * cancelled and never ran (never both), and the wheel holds nothing once the clock has passed every
 * deadline.
 */
class TimerWheelLincheckTest : FunSpec({
    test("timers scheduled and cancelled from other threads run exactly once or never, never early") {
        modelChecking()
            // the races that matter on every run: a cancel from another thread against the owner
            // expiring the same timeout, and a schedule from another thread while the owner ticks
            .addCustomScenario {
                parallel {
                    thread {
                        actor(TimerWheelOps::scheduleHere)
                        actor(TimerWheelOps::tick)
                        actor(TimerWheelOps::tick)
                        actor(TimerWheelOps::tick)
                    }
                    thread { actor(TimerWheelOps::cancelFirst); actor(TimerWheelOps::scheduleThere) }
                    thread { actor(TimerWheelOps::scheduleThere); actor(TimerWheelOps::cancelSecond) }
                }
            }
            // no operations before or after the parallel part: those may run on another thread than
            // the owner's, and the owner thread is only known once its first operation runs
            .actorsBefore(0)
            .actorsAfter(0)
            .check(TimerWheelOps::class.java)
    }
})

/**
 * The operations Lincheck calls: [tick] and [scheduleHere] on the wheel's owner thread
 * (`nonParallelGroup`), the others on any thread. Deadlines are fixed times on the fake clock, which
 * may already have passed (such a timeout runs on the next tick): a deadline read off a clock that
 * another thread moves would make the test's own bookkeeping racy.
 */
class TimerWheelOps {
    private val ms = 1_000_000L
    private val wheel = TimerWheel(ms, 4, 0) { throw AssertionError(it) }
    /** The fake clock, moved by the owner (and by the validation, once every thread has finished). */
    @Volatile private var now = 0L

    private class Scheduled(val deadline: Long) {
        val runs = AtomicInteger()
        @Volatile var firedAt = -1L
        @Volatile var cancelled = false
        lateinit var timeout: Timeout
    }

    /**
     * Every timeout scheduled, in the order the wheel got them: scheduling and recording are one step
     * under [lock] (the test's bookkeeping, not the wheel's), and a cancel names a fixed position
     * that never changes once filled, so it means the same timeout in the concurrent run and in the
     * sequential one it is compared with.
     */
    private val scheduled = ArrayList<Scheduled>()
    private val lock = Any()

    /**
     * The owner moves the clock one tick on and runs what is due. Like the cancels, it returns
     * nothing on purpose: a tick takes effect timeout by timeout, so a schedule or cancel racing it
     * may land before some of its expiries and after others (correct, but no one-at-a-time order
     * explains the counts and cancel results that come out). What matters is checked after each
     * run by [eachRanOnceOrWasCancelled]: a cancel that reported success never lets its timeout
     * run, and every other timeout runs exactly once, never early.
     */
    @Operation(nonParallelGroup = "owner")
    fun tick() {
        wheel.setOwner(Thread.currentThread())
        now += ms
        wheel.advance(now)
    }

    /** The owner schedules a timeout for 3 ms (linked at once). */
    @Operation(nonParallelGroup = "owner")
    fun scheduleHere() {
        wheel.setOwner(Thread.currentThread())
        schedule(3 * ms)
    }

    /** Another thread schedules a timeout for 2 ms (queued for the owner). */
    @Operation
    fun scheduleThere() {
        schedule(2 * ms)
    }

    /** Cancels the first timeout scheduled, if there is one. */
    @Operation
    fun cancelFirst() = cancel(synchronized(lock) { scheduled.firstOrNull() })

    /** Cancels the second timeout scheduled, if there is one. */
    @Operation
    fun cancelSecond() = cancel(synchronized(lock) { scheduled.getOrNull(1) })

    private fun schedule(deadline: Long) {
        synchronized(lock) {
            val s = Scheduled(deadline)
            s.timeout = wheel.schedule(s.deadline) {
                s.firedAt = now
                s.runs.incrementAndGet()
            }
            scheduled += s
        }
    }

    /** Remembers a cancel that reported success: that timeout must never run. */
    private fun cancel(s: Scheduled?) {
        if (s != null && s.timeout.cancel()) s.cancelled = true
    }

    @Validate
    fun eachRanOnceOrWasCancelled() {
        // every thread has finished: move the clock past every deadline as the owner would
        wheel.setOwner(Thread.currentThread())
        now += 10 * ms
        wheel.advance(now)
        for (s in scheduled) {
            if (s.cancelled) {
                check(s.runs.get() == 0) { "a cancelled timeout ran ${s.runs.get()} times" }
            } else {
                check(s.runs.get() == 1) { "a timeout ran ${s.runs.get()} times" }
                check(s.firedAt >= s.deadline) { "ran at ${s.firedAt}, before its deadline ${s.deadline}" }
            }
        }
        check(wheel.pending() == 0) { "${wheel.pending()} timeouts still pending after every deadline" }
    }
}
