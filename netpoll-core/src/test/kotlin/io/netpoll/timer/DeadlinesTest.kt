package io.netpoll.timer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import java.time.Duration
import java.time.Instant
import java.time.temporal.ChronoUnit

/** Timeouts and deadlines too long to count in nanoseconds mean none, and nothing overflows. */
class DeadlinesTest : FunSpec({
    test("a timeout of null, zero, a negative length or ~146 years and more is none (0); shorter ones count in nanoseconds") {
        Deadlines.timeoutNanos(null as Duration?) shouldBe 0L
        Deadlines.timeoutNanos(Duration.ZERO) shouldBe 0L
        Deadlines.timeoutNanos(Duration.ofSeconds(-1)) shouldBe 0L
        Deadlines.timeoutNanos(ChronoUnit.FOREVER.duration) shouldBe 0L // toNanos() would throw
        Deadlines.timeoutNanos(Duration.ofNanos(Long.MAX_VALUE)) shouldBe 0L // Kotlin's Duration.INFINITE
        Deadlines.timeoutNanos(Duration.ofDays(365)) shouldBe Duration.ofDays(365).toNanos()
        Deadlines.timeoutNanos(Long.MAX_VALUE) shouldBe 0L
        Deadlines.timeoutNanos(1_000L) shouldBe 1_000L
    }

    test("a deadline after a timeout never wraps into the past: none for an endless timeout, now plus it otherwise, never 0") {
        val now = System.nanoTime()
        Deadlines.after(now, Long.MAX_VALUE) shouldBe 0L
        Deadlines.after(now, 0) shouldBe 0L
        Deadlines.after(now, 5_000_000L) shouldBe Deadlines.nonZero(now + 5_000_000L)
        Deadlines.after(-5, 5) shouldBe 1L // 0 means none
    }

    test("a wall-clock deadline at Instant.MAX is none; one at Instant.MIN is in the past; a near one is near") {
        Deadlines.at(null) shouldBe 0L
        Deadlines.at(Instant.MAX) shouldBe 0L // Duration.between(...).toNanos() would throw
        (Deadlines.at(Instant.MIN) - System.nanoTime() < 0).shouldBeTrue()
        val inAMinute = Deadlines.at(Instant.now().plusSeconds(60)) - System.nanoTime()
        (inAMinute > 0 && inAMinute <= 60_000_000_000L).shouldBeTrue()
    }

    test("a grace period is capped at ~146 years, not dropped: longer still means longer") {
        Deadlines.cappedNanos(null) shouldBe 0L
        Deadlines.cappedNanos(Duration.ofSeconds(-3)) shouldBe 0L
        Deadlines.cappedNanos(ChronoUnit.FOREVER.duration) shouldBe Deadlines.FOREVER
        Deadlines.cappedNanos(Duration.ofMillis(20)) shouldBe 20_000_000L
    }
})
