package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.conn.ConnTestKit.PatternCheck
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.pattern
import io.netpoll.conn.ConnTestKit.readFully
import io.netpoll.conn.ConnTestKit.withDialedPair
import java.io.InterruptedIOException
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicReference

/**
 * A thread interrupted while a blocking read or flush waits: [InterruptedIOException], its interrupt
 * status still set, nothing consumed or lost, and the connection goes on working.
 */
class InterruptTest : FunSpec({
    /** Runs [call] on a new thread, interrupts it once [waiting] holds; returns what it threw and whether its interrupt stayed set. */
    fun interruptWhile(waiting: () -> Boolean, call: () -> Unit): Pair<Throwable?, Boolean> {
        val error = AtomicReference<Throwable?>()
        val flag = AtomicReference<Boolean>()
        val t = Thread {
            try {
                call()
            } catch (e: Throwable) {
                error.set(e)
            }
            flag.set(Thread.currentThread().isInterrupted)
        }.apply { start() }
        awaitTrue("the call waits") { waiting() }
        t.interrupt()
        t.join(10_000)
        t.isAlive shouldBe false
        return error.get() to flag.get()
    }

    test("an interrupted blocking read throws InterruptedIOException, keeps the interrupt, consumes nothing; the next read gets the bytes") {
        withDialedPair { c, s ->
            val conn = c as NetConnection
            s.getOutputStream().write(byteArrayOf(1, 2))
            awaitTrue("two bytes buffered") { c.reader().len() == 2 }
            val (error, interrupted) = interruptWhile({ conn.pollDesc().rg.hasWaiter() }) { c.reader().readInt() }
            error.shouldBeInstanceOf<InterruptedIOException>()
            interrupted.shouldBeTrue()
            c.reader().len() shouldBe 2
            conn.waitSize shouldBe 0
            s.getOutputStream().write(byteArrayOf(3, 4))
            c.reader().readInt() shouldBe 0x01020304
            c.isActive.shouldBeTrue()
        }
    }

    test("a read begun on an already interrupted thread throws InterruptedIOException at once, not after its bytes") {
        withDialedPair { c, s ->
            val (error, interrupted) = interruptWhile({ true }) {
                while (!Thread.currentThread().isInterrupted) Thread.onSpinWait()
                c.reader().readByte()
            }
            error.shouldBeInstanceOf<InterruptedIOException>()
            interrupted.shouldBeTrue()
            s.getOutputStream().write(7)
            c.reader().readByte() shouldBe 7.toByte()
        }
    }

    test("an interrupted flush throws InterruptedIOException and keeps the interrupt; the queued bytes are still sent, once and in order, then the next flush's") {
        val total = 8 shl 20
        withDialedPair({ receiveBufferSize = 4096 }) { c, s ->
            val conn = c as NetConnection
            val data = ByteBuffer.allocateDirect(total).put(pattern(0, total)).flip()
            val (error, interrupted) = interruptWhile({ conn.sender().room.hasWaiter() }) {
                c.writer().writeDirect(data) // stays unchanged until sent, as writeDirect asks
                c.writer().flush()
            }
            error.shouldBeInstanceOf<InterruptedIOException>()
            interrupted.shouldBeTrue()
            c.isActive.shouldBeTrue()
            val reader = Thread {
                val check = PatternCheck()
                while (check.got < total && check.read(s.getInputStream(), (total - check.got).toInt().coerceAtMost(1 shl 16)) > 0) Unit
                check.got shouldBe total.toLong()
                check.bad shouldBe 0
                String(readFully(s.getInputStream(), 3)) shouldBe "END"
            }
            val failure = AtomicReference<Throwable?>()
            reader.setUncaughtExceptionHandler { _, e -> failure.set(e) }
            reader.start()
            c.writer().writeString("END")
            c.writer().flush()
            reader.join(20_000)
            reader.isAlive shouldBe false
            failure.get() shouldBe null
        }
    }
})
