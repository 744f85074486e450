package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.server
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.WriteTimeoutException
import java.io.InputStream
import java.time.Instant
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlin.random.Random

/**
 * The Java API's blocking flush with a write-queue limit (`Sender.awaitRoom`): a flushing thread
 * waits while the poller owns more than the limit, and is woken by the send task's progress, a write
 * deadline (moved from another thread too) or a close.
 */
class FlushRoomTest : FunSpec({
    val limit = 64L shl 10
    val frame = 16 shl 10
    val frames = 1536 // 24 MiB: well past what the kernel's socket buffers hold, so flushes must wait
    val total = frames.toLong() * frame

    test("with a write-queue limit, a blocking flush to a slow reader returns once at most the limit is queued; every byte arrives once, in order") {
        val overLimit = AtomicInteger()
        Writing(limit) { c ->
            for (f in 0 until frames) {
                writePattern(c, f.toLong() * frame, frame)
                c.writer().flush()
                if ((c as NetConnection).queuedOutput() > limit) overLimit.incrementAndGet()
            }
        }.use { w ->
            w.peer().use { p ->
                val (check, stalls) = readWithStalls(p.getInputStream(), total) { w.writerWaits() }
                w.done.await(10, TimeUnit.SECONDS).shouldBeTrue()
                w.failure.get() shouldBe null
                (stalls > 0).shouldBeTrue() // flushes did wait for room
                overLimit.get() shouldBe 0
                check.bad shouldBe 0
                check.got shouldBe total
            }
        }
    }

    test("flushes waiting for room while another thread keeps moving the write deadline never hang and never lose or duplicate a byte: a timed-out flush leaves its bytes queued, and a retried one sends them once") {
        val timeouts = AtomicInteger()
        Writing(limit) { c ->
            for (f in 0 until frames) {
                writePattern(c, f.toLong() * frame, frame)
                while (true) {
                    try {
                        c.writer().flush()
                        break
                    } catch (e: WriteTimeoutException) {
                        timeouts.incrementAndGet() // still queued: flush again
                    }
                }
            }
        }.use { w ->
            w.peer().use { p ->
                awaitTrue("connected") { w.conn.get() != null }
                val mover = Thread {
                    val rnd = Random(11)
                    while (w.done.count > 0) {
                        val c = w.conn.get()
                        when (rnd.nextInt(4)) {
                            0 -> c.setWriteDeadline(null)
                            1 -> c.setWriteDeadline(Instant.now().minusMillis(1)) // past: a waiting flush fails now
                            else -> c.setWriteDeadline(Instant.now().plusMillis(1L + rnd.nextInt(5)))
                        }
                        Thread.sleep(0, 200_000)
                    }
                }
                mover.start()
                try {
                    val (check, _) = readWithStalls(p.getInputStream(), total) { w.writerWaits() }
                    w.done.await(10, TimeUnit.SECONDS).shouldBeTrue()
                    w.failure.get() shouldBe null
                    check.bad shouldBe 0
                    check.got shouldBe total
                    (timeouts.get() > 0).shouldBeTrue() // the deadlines did end waits
                } finally {
                    w.done.countDown()
                    mover.join(5000)
                }
            }
        }
    }

    test("close() from another thread while a flush waits for room wakes it with ConnectionClosedException; the peer got an in-order prefix, and the buffers go back") {
        Writing(limit) { c ->
            var f = 0L
            while (true) { // the peer does not read yet: a flush soon waits for room
                writePattern(c, f * frame, frame)
                c.writer().flush()
                f++
            }
        }.use { w ->
            w.peer().use { p ->
                awaitTrue("a flush waits for room") { w.writerWaits() }
                w.conn.get().close()
                w.done.await(10, TimeUnit.SECONDS).shouldBeTrue()
                w.failure.get().shouldBeInstanceOf<ConnectionClosedException>()
                val check = ConnTestKit.PatternCheck()
                while (check.read(p.getInputStream(), 64 shl 10) >= 0) { /* to EOF */ }
                check.bad shouldBe 0
                awaitTrue("its buffers went back") { w.srv.pool.bytesInUse() == 0L }
            }
        }
    }
})

/**
 * A server whose one connection runs [write] once, on a pool thread, under a write-queue [limit];
 * [failure] is what ended it early, [done] counts down when it returns.
 */
private class Writing(limit: Long, write: (Connection) -> Unit) : AutoCloseable {
    val failure = AtomicReference<Throwable?>()
    val done = CountDownLatch(1)
    val conn = AtomicReference<NetConnection>()
    val srv = server(ConnTestKit.Exec.POOL) {
        writeQueueLimit(limit)
        onPrepare { c -> conn.set(c as NetConnection) }
        onConnect { c ->
            try {
                write(c)
            } catch (e: Throwable) {
                failure.set(e)
            }
            done.countDown()
        }
        onRequest { }
    }

    /** The reading side, with a small receive buffer. */
    fun peer() = ConnTestKit.peer(srv.port) { receiveBufferSize = 8192 }

    /** True while a flush waits for room. */
    fun writerWaits() = conn.get()?.sender?.mustWait() == true

    override fun close() = srv.close()
}

/**
 * Reads [total] bytes of the pattern from [inp], stopping to read after every 2 MiB until
 * [writerWaits] holds (at most 2 s each time), so that the kernel's buffers fill and the writer's
 * flushes wait for room (the last 8 MiB are read straight through). Returns the check and how many
 * stops saw the writer wait.
 */
private fun readWithStalls(inp: InputStream, total: Long, writerWaits: () -> Boolean): Pair<ConnTestKit.PatternCheck, Int> {
    val check = ConnTestKit.PatternCheck()
    var stalls = 0
    var nextStall = 2L shl 20
    while (check.got < total) {
        // (only while more is left than the kernel's buffers hold: else the writer is done, not waiting)
        if (check.got >= nextStall && total - check.got > 8L shl 20) {
            nextStall += 2L shl 20
            if (ConnTestKit.eventually(2000) { writerWaits() }) stalls++
        }
        if (check.read(inp, 32 shl 10) < 0) break
    }
    return check to stalls
}

/** Writes [n] bytes of [ConnTestKit.patternByte] starting at stream offset [from] (not flushed). */
private fun writePattern(c: Connection, from: Long, n: Int) {
    c.writer().writeBinary(ConnTestKit.pattern(from, n))
}
