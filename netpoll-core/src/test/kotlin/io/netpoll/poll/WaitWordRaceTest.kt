package io.netpoll.poll

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.ThreadLocalRandom
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.atomic.AtomicReference

/**
 * Races on the Go-style state word and on PollDesc, each run many thousands of times with real
 * threads: no lost wake-up, no double resume, no stuck waiter.
 */
class WaitWordRaceTest : FunSpec({
    fun jitter() {
        repeat(ThreadLocalRandom.current().nextInt(64)) { Thread.onSpinWait() }
    }

    class CountingWaiter : Waiter {
        val wakes = AtomicInteger()
        override fun wake() {
            wakes.incrementAndGet()
        }
    }

    test("I/O readiness racing a parking thread never loses a wake-up") {
        Poller("race-io").use { poller ->
            val pd = PollDesc(-1, poller, 1, PollDesc.WAKE_WAITERS)
            val produced = AtomicLong()
            val consumed = AtomicLong()
            val n = 200_000L
            val consumer = Thread {
                while (consumed.get() < n) {
                    if (consumed.get() < produced.get()) consumed.incrementAndGet() else pd.block(PollDesc.READ)
                }
            }
            consumer.start()
            val producer = Thread {
                for (i in 1..n) {
                    produced.incrementAndGet()
                    pd.rg.unblockAndWake(true)
                    // wait until consumed, so each round is a fresh park/ready race
                    while (consumed.get() < i) {
                        if (!consumer.isAlive) return@Thread
                        Thread.onSpinWait()
                    }
                    jitter()
                }
            }
            producer.start()
            producer.join(60_000)
            consumer.join(60_000)
            consumer.isAlive shouldBe false // a lost wake-up leaves it parked
            consumed.get() shouldBe n
        }
    }

    test("a parked waiter racing readiness and a timeout is woken exactly once") {
        val word = WaitWord()
        val barrier = CyclicBarrier(3)
        val taken = arrayOf(AtomicReference<Waiter?>(), AtomicReference<Waiter?>())
        val rounds = 50_000
        val doubles = AtomicInteger()
        val misses = AtomicInteger()
        val racers = (0..1).map { idx ->
            Thread {
                repeat(rounds) {
                    barrier.await(10, TimeUnit.SECONDS)
                    jitter()
                    taken[idx].set(word.unblock(idx == 0)) // racer 0: I/O ready; racer 1: timeout/close
                    barrier.await(10, TimeUnit.SECONDS)
                }
            }
        }
        racers.forEach { it.start() }
        repeat(rounds) {
            val w = CountingWaiter()
            word.prepare() // never READY here: finish() below always clears the word
            barrier.await(10, TimeUnit.SECONDS)
            jitter()
            val parked = word.commit(w)
            barrier.await(10, TimeUnit.SECONDS)
            taken.forEach { it.get()?.wake() }
            val ready = word.finish()
            val wakes = w.wakes.get()
            if (parked && wakes != 1) misses.incrementAndGet()
            if (wakes > 1) doubles.incrementAndGet()
            if (!parked && wakes != 0) doubles.incrementAndGet()
            // the I/O racer always ran, so readiness was seen: latched, or handed over by waking us
            if (!ready && !(parked && taken[0].get() === w)) {
                // only possible if the timeout took the waiter and then I/O found NIL and latched
                // READY... which finish() would have returned: so this is a lost readiness
                if (taken[1].get() !== w) misses.incrementAndGet()
            }
        }
        racers.forEach { it.join() }
        doubles.get() shouldBe 0
        misses.get() shouldBe 0
    }

    test("close racing a parked thread always wakes it with ERR_CLOSING") {
        Poller("race-close").use { poller ->
            repeat(5_000) { i ->
                val pd = PollDesc(-1, poller, i + 1, PollDesc.WAKE_WAITERS)
                val result = AtomicInteger(-1)
                val t = Thread {
                    while (pd.check(PollDesc.READ) == PollDesc.OK) pd.block(PollDesc.READ)
                    result.set(pd.check(PollDesc.READ))
                }
                t.start()
                jitter()
                pd.close()
                t.join(10_000)
                t.isAlive shouldBe false
                result.get() shouldBe PollDesc.ERR_CLOSING
            }
        }
    }

    test("deadline reset while parked: a stale timer does nothing and the final deadline wakes it") {
        Poller("race-deadline").use { poller ->
            repeat(40) { i ->
                val pd = PollDesc(-1, poller, i + 1, PollDesc.WAKE_WAITERS)
                val woke = AtomicLong(0)
                val t = Thread {
                    while (pd.check(PollDesc.READ) == PollDesc.OK) pd.block(PollDesc.READ)
                    woke.set(System.nanoTime())
                }
                t.start()
                // arm a near deadline, let its timer fire, and move the deadline away before the timer
                // can act: it fires while this thread holds the descriptor's lock, which the timer takes
                // too, so it finds the deadline moved (stale) when it gets the lock. 200 ms: the first
                // call must not find its deadline already passed, even on a loaded machine
                synchronized(pd) {
                    pd.setDeadline(PollDesc.READ, System.nanoTime() + 200_000_000)
                    Thread.sleep(if (i % 2 == 0) 210 else 0) // every other round the timer is cancelled in time instead
                    pd.setDeadline(PollDesc.READ, System.nanoTime() + 3_600_000_000_000)
                }
                Thread.sleep(5)
                t.isAlive shouldBe true
                // remove it entirely, then set a past deadline: wakes at once
                pd.setDeadline(PollDesc.READ, 0)
                val before = System.nanoTime()
                pd.setDeadline(PollDesc.READ, before - 1)
                t.join(5_000)
                t.isAlive shouldBe false
                pd.check(PollDesc.READ) shouldBe PollDesc.ERR_TIMEOUT
                (woke.get() >= before) shouldBe true
                // moving the deadline into the future clears the timeout
                pd.setDeadline(PollDesc.READ, System.nanoTime() + 3_600_000_000_000)
                pd.check(PollDesc.READ) shouldBe PollDesc.OK
                pd.close()
            }
        }
    }

    test("a future deadline wakes a parked thread no earlier than the deadline") {
        Poller("deadline").use { poller ->
            repeat(50) { i ->
                val pd = PollDesc(-1, poller, i + 1, PollDesc.WAKE_WAITERS)
                val deadline = System.nanoTime() + 3_000_000
                pd.setDeadline(PollDesc.READ, deadline)
                while (pd.check(PollDesc.READ) == PollDesc.OK) pd.block(PollDesc.READ)
                (System.nanoTime() >= deadline) shouldBe true
                pd.close()
            }
            poller.pendingTimersFromTest() shouldBe 0
        }
    }

    test("the READY latch: readiness that arrived before the wait is consumed without parking") {
        val word = WaitWord()
        word.unblock(true) shouldBe null
        word.isReady shouldBe true
        word.prepare() shouldBe true
        word.isReady shouldBe false
        // a timeout or close never latches
        word.unblock(false) shouldBe null
        word.prepare() shouldBe false
        word.finish() shouldBe false
    }

    test("a second waiter on the same word is a double wait and throws") {
        val word = WaitWord()
        word.prepare() shouldBe false
        val e = runCatching { word.prepare() }.exceptionOrNull()
        (e is IllegalStateException) shouldBe true
        word.finish()
    }
})

/** pendingTimers() must run on the poller thread; ask it there. */
fun Poller.pendingTimersFromTest(): Int {
    val result = java.util.concurrent.CompletableFuture<Int>()
    execute { result.complete(pendingTimers()) }
    return result.get(5, TimeUnit.SECONDS)
}
