package io.netpoll.timer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.shouldBe

/** The wheel on a fake clock: time only moves when the test calls advance(now). */
class TimerWheelTest : FunSpec({
    val ms = 1_000_000L

    fun wheel(size: Int = 8, start: Long = 0) = TimerWheel(ms, size, start) { throw AssertionError(it) }

    test("tasks fire in deadline order and never before their deadline") {
        val w = wheel()
        val fired = mutableListOf<Pair<String, Long>>()
        var now = 0L
        w.schedule(5 * ms + 300) { fired += "c" to now }
        w.schedule(1 * ms) { fired += "a" to now }
        w.schedule(3 * ms - 1) { fired += "b" to now }
        for (t in 0..20) {
            now = t * ms / 2 // half-millisecond steps
            w.advance(now)
        }
        fired.map { it.first } shouldBe listOf("a", "b", "c")
        fired[0].second shouldBe 1 * ms
        fired[1].second shouldBe 3 * ms
        fired[2].second shouldBe 6 * ms // first tick boundary at or after 5.0003 ms
    }

    test("a task fires within one tick after its deadline when advanced as nanosUntilNextTick says") {
        val w = wheel(size = 16)
        var now = 0L
        var firedAt = -1L
        val deadline = 7 * ms + 123_456
        w.schedule(deadline) { firedAt = now }
        repeat(100) {
            val wait = w.nanosUntilNextTick(now)
            if (wait >= 0) {
                now += wait
                w.advance(now)
            }
        }
        (firedAt >= deadline) shouldBe true
        (firedAt - deadline < ms) shouldBe true
    }

    test("a cancelled task never runs and leaves the wheel") {
        val w = wheel()
        var ran = false
        val t = w.schedule(2 * ms) { ran = true }
        w.pending() shouldBe 1
        t.cancel() shouldBe true
        t.cancel() shouldBe false
        w.advance(10 * ms)
        ran shouldBe false
        w.pending() shouldBe 0
        t.isCancelled shouldBe true
    }

    test("cancel after expiry reports false and the task ran once") {
        val w = wheel()
        var runs = 0
        val t = w.schedule(1 * ms) { runs++ }
        w.advance(2 * ms)
        t.cancel() shouldBe false
        t.isExpired shouldBe true
        w.advance(100 * ms)
        runs shouldBe 1
    }

    test("re-arming: cancel and schedule a later deadline fires only the new one") {
        val w = wheel()
        val fired = mutableListOf<String>()
        val first = w.schedule(3 * ms) { fired += "old" }
        w.advance(1 * ms)
        first.cancel()
        w.schedule(6 * ms) { fired += "new" }
        w.advance(4 * ms)
        fired.shouldBeEmpty()
        w.advance(6 * ms)
        fired shouldBe listOf("new")
    }

    test("deadlines several revolutions away wait for their own tick (wrap-around)") {
        val w = wheel(size = 8) // one revolution = 8 ms
        val fired = mutableListOf<Long>()
        var now = 0L
        // same bucket (tick % 8 == 3) in three different revolutions
        for (tick in listOf(19L, 3L, 11L)) w.schedule(tick * ms) { fired += now / ms }
        for (t in 0..30) {
            now = t * ms
            w.advance(now)
        }
        fired shouldBe listOf(3L, 11L, 19L)
    }

    test("a big jump of the clock fires everything due, once, even past a full revolution") {
        val w = wheel(size = 8)
        val fired = mutableListOf<Int>()
        for (i in 1..30) w.schedule(i * ms) { fired += i }
        w.advance(1000 * ms)
        fired.sorted() shouldBe (1..30).toList()
        fired.size shouldBe 30
    }

    test("a deadline in the past fires on the next advance") {
        val w = wheel(start = 100 * ms)
        w.advance(150 * ms)
        var ran = false
        w.schedule(120 * ms) { ran = true }
        w.advance(150 * ms + 1)
        ran shouldBe false // same tick as already processed: due at the next tick boundary
        w.advance(151 * ms)
        ran shouldBe true
    }

    test("nanosUntilNextTick is -1 when empty and never later than the earliest deadline") {
        val w = wheel()
        w.nanosUntilNextTick(0) shouldBe -1L
        w.schedule(50 * ms + 1) {}
        w.schedule(4 * ms) {}
        w.nanosUntilNextTick(0) shouldBe 4 * ms
        w.advance(4 * ms)
        (w.nanosUntilNextTick(4 * ms) <= 47 * ms) shouldBe true
    }

    test("a task that throws is reported and the others still run") {
        val errors = mutableListOf<Throwable>()
        val w = TimerWheel(ms, 8, 0) { errors += it }
        var ran = false
        w.schedule(1 * ms) { error("boom") }
        w.schedule(1 * ms) { ran = true }
        w.advance(1 * ms)
        errors.size shouldBe 1
        ran shouldBe true
    }

    test("a task that cancels a timeout due with it, on the owner thread, leaves the bucket's others to fire") {
        val w = wheel()
        w.setOwner(Thread.currentThread()) // the poller's case: cancels from a task unlink at once
        val ran = mutableListOf<String>()
        lateinit var b: Timeout
        w.schedule(2 * ms) { ran += "a"; b.cancel() shouldBe true }
        b = w.schedule(2 * ms) { ran += "b" }
        w.schedule(2 * ms) { ran += "c" }
        w.schedule(2 * ms + 8 * ms) { ran += "d" } // same bucket, one revolution on
        w.advance(2 * ms)
        ran shouldBe listOf("a", "c")
        w.pending() shouldBe 1
        w.advance(10 * ms)
        ran shouldBe listOf("a", "c", "d")
        w.pending() shouldBe 0
        w.nanosUntilNextTick(10 * ms) shouldBe -1
        var later = false
        w.schedule(11 * ms) { later = true }
        w.advance(11 * ms)
        later shouldBe true
    }

    test("a task that cancels a timeout due after it, on the owner thread, keeps the count right") {
        val w = wheel()
        w.setOwner(Thread.currentThread())
        val ran = mutableListOf<String>()
        lateinit var b: Timeout
        w.schedule(2 * ms) { ran += "a"; b.cancel() shouldBe true }
        b = w.schedule(3 * ms) { ran += "b" }
        w.schedule(3 * ms) { ran += "c" }
        w.advance(3 * ms)
        ran shouldBe listOf("a", "c")
        w.pending() shouldBe 0
    }

    test("a past deadline scheduled by a task on the owner thread fires at the next tick, not a revolution later") {
        val w = wheel(size = 8)
        w.setOwner(Thread.currentThread())
        var now = 0L
        var firedAt = -1L
        w.schedule(2 * ms) { w.schedule(1 * ms) { firedAt = now } } // bucket 1: walked already
        w.schedule(6 * ms) { } // keeps the wheel busy past the first task's tick
        now = 5 * ms
        w.advance(now) // walks ticks 1..5; the new timeout goes to tick 3, still ahead in this walk
        firedAt shouldBe 5 * ms
    }
})
