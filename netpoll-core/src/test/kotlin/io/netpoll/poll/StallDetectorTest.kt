package io.netpoll.poll

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.logging.Handler
import java.util.logging.LogRecord
import java.util.logging.Logger

/**
 * The stall detector reports a poller stuck in one batch, and only that: a poller that is busy most
 * of the time in many short batches is not stalled. Each test listens for the warnings that name
 * its own poller, through a handler it removes again.
 */
class StallDetectorTest : FunSpec({
    fun <T> warningsFor(pollerName: String, body: (CopyOnWriteArrayList<String>) -> T): T {
        val seen = CopyOnWriteArrayList<String>()
        val handler = object : Handler() {
            override fun publish(r: LogRecord) {
                val m = r.message ?: return
                if (m.startsWith("$pollerName has been busy")) seen.add(m)
            }
            override fun flush() {}
            override fun close() {}
        }
        val logger = Logger.getLogger("io.netpoll.poll")
        logger.addHandler(handler)
        try {
            return body(seen)
        } finally {
            logger.removeHandler(handler)
        }
    }

    /** Runs one task of [millis] on the poller (a batch that long) and waits for it to end. */
    fun Poller.busyFor(millis: Long) {
        val done = CountDownLatch(1)
        execute {
            Thread.sleep(millis)
            done.countDown()
        }
        done.await(5, TimeUnit.SECONDS) shouldBe true
    }

    test("a batch that blocks past the threshold is reported once, with the blocking stack") {
        val name = "stall-test-blocked"
        warningsFor(name) { seen ->
            Poller(name).use { poller ->
                StallDetector.watch(poller, TimeUnit.MILLISECONDS.toNanos(200))
                poller.busyFor(1_000)
                // the next sample sees the batch over; give it one period
                Thread.sleep(250)
            }
            seen.size shouldBe 1
            seen[0] shouldContain "$name has been busy for at least"
            seen[0] shouldContain "Thread.sleep"
        }
    }

    test("many short batches, busy most of the time, are not a stall") {
        val name = "stall-test-busy"
        warningsFor(name) { seen ->
            Poller(name).use { poller ->
                StallDetector.watch(poller, TimeUnit.MILLISECONDS.toNanos(1000))
                // 120 batches of 20 ms, 5 ms apart: the poller is busy 80% of 3 s (three thresholds:
                // a detector that added busy batches up would fire), never long at once (the 1 s
                // threshold leaves room for a poller thread the machine descheduled mid-batch)
                repeat(120) {
                    poller.busyFor(20)
                    Thread.sleep(5)
                }
            }
            seen.size shouldBe 0
        }
    }
})
