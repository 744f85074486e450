package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.kotest.matchers.types.shouldNotBeInstanceOf
import io.netpoll.coroutines.CoTestKit.SHORT
import io.netpoll.coroutines.CoTestKit.TestConn
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.flushUntilSuspended
import io.netpoll.coroutines.CoTestKit.launchCatching
import io.netpoll.coroutines.CoTestKit.readPattern
import io.netpoll.coroutines.CoTestKit.withConn
import io.netpoll.error.ReadTimeoutException
import io.netpoll.error.WriteTimeoutException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.isActive
import kotlinx.coroutines.withTimeout
import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.InetSocketAddress
import java.net.Socket
import java.util.concurrent.atomic.AtomicReference
import kotlin.time.Duration
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeMark
import kotlin.time.TimeSource

/**
 * Read and write deadlines (absolute, [TimeMark]) and timeouts (per wait): expiry is an ordinary
 * exception, nothing is consumed or lost, the connection stays usable; past deadlines fail at once;
 * deadlines moved while a call waits take effect; an old deadline never hits a later call.
 */
class CoDeadlineTest : FunSpec({
    timeout = 60_000L

    fun now(): TimeMark = TimeSource.Monotonic.markNow()

    /**
     * For a deadline the test moves, clears, or beats before it passes: long enough that a stalled
     * test thread (a loaded machine, a GC pause) does not see it pass first.
     */
    val MOVABLE = 1.seconds

    /** Suspends until [mark] has passed, then a margin more (for a timer that would wrongly fire there). */
    suspend fun waitPast(mark: TimeMark) {
        while (!mark.hasPassedNow()) delay(10)
        delay(300)
    }

    /**
     * Writes and flushes [trailer] while the peer reads the [written] queued pattern bytes and then
     * [expected] (what was queued after them, and the trailer); checks both.
     */
    suspend fun TestConn.peerReadsQueuedThenTrailer(written: Long, trailer: String, expected: String = trailer) {
        val reader = CoroutineScope(Dispatchers.IO).async {
            readPattern(peer.getInputStream(), written) to String(CoTestKit.readFully(peer.getInputStream(), expected.length))
        }
        conn.output.writeString(trailer)
        conn.flush()
        val (bad, got) = withTimeout(CoTestKit.WAIT_MS) { reader.await() }
        bad shouldBe 0L
        got shouldBe expected // right after the queued bytes: delivered once, in order
    }

    test("a read deadline that passes throws ReadTimeoutException, not a cancellation: nothing consumed, the scope goes on and reads later data") {
        coTest {
            withConn { c ->
                c.send("abc")
                c.awaitBuffered(3)
                c.conn.readDeadline = now() + SHORT
                val e = runCatching { c.conn.readFully(10) }.exceptionOrNull()
                e.shouldNotBeInstanceOf<CancellationException>()
                e.shouldBeInstanceOf<ReadTimeoutException>()
                isActive.shouldBeTrue() // the caller's scope was not cancelled
                c.conn.connection.inputLen() shouldBe 3
                c.pd.rg.hasWaiter().shouldBeFalse()
                // an absolute deadline stays passed until moved (Go's rule): a read that must wait fails
                // at once, while one served from the buffer does not wait and is not bounded
                runCatching { c.conn.readFully(10) }.exceptionOrNull().shouldBeInstanceOf<ReadTimeoutException>()
                c.conn.peek(3).get(0) shouldBe 'a'.code.toByte()
                c.conn.readDeadline = null
                c.send("defghij")
                String(c.conn.readFully(10)) shouldBe "abcdefghij"
                c.conn.isActive.shouldBeTrue()
            }
        }
    }

    test("a read timeout bounds each wait: ReadTimeoutException, nothing consumed, the next read works without resetting anything") {
        coTest {
            withConn { c ->
                c.conn.readTimeout = SHORT
                c.conn.readTimeout shouldBe SHORT
                c.send(byteArrayOf(0x11, 0x22))
                c.awaitBuffered(2)
                val e = runCatching { c.conn.readInt() }.exceptionOrNull()
                e.shouldNotBeInstanceOf<CancellationException>()
                e.shouldBeInstanceOf<ReadTimeoutException>()
                isActive.shouldBeTrue()
                c.conn.connection.inputLen() shouldBe 2
                c.send(byteArrayOf(0x33, 0x44))
                c.awaitBuffered(4)
                c.conn.readInt() shouldBe 0x11223344
                c.conn.readTimeout = null
                c.conn.readTimeout shouldBe null
            }
        }
    }

    test("Duration.INFINITE as a read timeout, and a read deadline at markNow() + Duration.INFINITE, are none: a read waits on until its bytes come") {
        coTest {
            withConn { c ->
                c.conn.readTimeout = Duration.INFINITE
                c.conn.readTimeout shouldBe null // none, as zero
                c.conn.writeTimeout = Duration.INFINITE
                c.conn.readDeadline = now() + Duration.INFINITE
                val (job, outcome) = launchCatching { c.conn.readInt() shouldBe 0x01020304 }
                delay(300) // Long.MAX_VALUE ns from now wraps around: none must stay none
                job.isActive.shouldBeTrue()
                outcome.get() shouldBe null
                c.send(byteArrayOf(1, 2, 3, 4))
                job.join()
                outcome.get() shouldBe null
                c.conn.readDeadline = null
            }
        }
    }

    test("a server handler whose read times out goes on: it answers, then reads the client's later line") {
        coTest {
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                readTimeout = SHORT
                handle { conn ->
                    var timeouts = 0
                    while (true) {
                        try {
                            val line = conn.readLine() ?: break
                            conn.output.writeString("echo $line after $timeouts timeout(s)\n")
                            conn.flush()
                        } catch (e: ReadTimeoutException) {
                            timeouts++
                            conn.readTimeout = null // once is enough for this test
                            conn.output.writeString("timeout\n")
                            conn.flush()
                        }
                    }
                }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                kotlinx.coroutines.withContext(Dispatchers.IO) {
                    Socket("127.0.0.1", port).use { s ->
                        s.soTimeout = CoTestKit.WAIT_MS.toInt()
                        val inp = BufferedReader(InputStreamReader(s.getInputStream()))
                        inp.readLine() shouldBe "timeout"
                        s.getOutputStream().write("hi\n".toByteArray())
                        inp.readLine() shouldBe "echo hi after 1 timeout(s)"
                    }
                }
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("a read deadline already in the past fails the read at once, without suspending") {
        coTest {
            withConn { c ->
                c.conn.readDeadline = now() - 1.seconds
                val (job, outcome) = launchCatching { c.conn.readInt() }
                job.isCompleted.shouldBeTrue() // never suspended
                outcome.get().shouldBeInstanceOf<ReadTimeoutException>()
                c.pd.rg.hasWaiter().shouldBeFalse()
                c.conn.readDeadline = null
                c.send(byteArrayOf(0, 0, 0, 7))
                c.conn.readInt() shouldBe 7
            }
        }
    }

    test("moving the read deadline later while a read is suspended takes effect: the old one passes, the read goes on") {
        coTest {
            withConn { c ->
                val first = now() + MOVABLE
                c.conn.readDeadline = first
                val (job, outcome) = launchCatching { c.conn.readInt() shouldBe 42 }
                job.isActive.shouldBeTrue()
                c.conn.readDeadline = now() + 1.hours
                waitPast(first)
                job.isActive.shouldBeTrue()
                c.pd.rg.hasWaiter().shouldBeTrue()
                c.send(byteArrayOf(0, 0, 0, 42))
                job.join()
                outcome.get() shouldBe null
                c.conn.readDeadline = null
            }
        }
    }

    test("a read timeout still bounds a suspended read whose read deadline is moved later meanwhile") {
        coTest {
            withConn { c ->
                c.conn.readTimeout = MOVABLE
                val (job, outcome) = launchCatching { c.conn.readInt() }
                awaitTrue("the read is suspended") { c.pd.rg.hasWaiter() }
                c.conn.readDeadline = now() + 1.hours // before: replaced the wait's own bound
                withTimeout(10.seconds) { job.join() }
                outcome.get().shouldBeInstanceOf<ReadTimeoutException>()
                c.conn.readTimeout = null
                c.conn.readDeadline = null
                c.send(byteArrayOf(0, 0, 0, 7))
                c.conn.readInt() shouldBe 7
            }
        }
    }

    test("clearing the read deadline while a read is suspended takes effect: the read waits on and completes") {
        coTest {
            withConn { c ->
                val first = now() + MOVABLE
                c.conn.readDeadline = first
                val (job, outcome) = launchCatching { c.conn.readLine() shouldBe "late" }
                job.isActive.shouldBeTrue()
                c.conn.readDeadline = null
                waitPast(first)
                job.isActive.shouldBeTrue()
                c.send("late\n")
                job.join()
                outcome.get() shouldBe null
            }
        }
    }

    test("moving the read deadline into the past while a read is suspended fails it with ReadTimeoutException") {
        coTest {
            withConn { c ->
                c.conn.readDeadline = now() + 1.hours
                c.send("x")
                c.awaitBuffered(1)
                val (job, outcome) = launchCatching { c.conn.readFully(2) }
                job.isActive.shouldBeTrue()
                c.conn.readDeadline = now() - 1.milliseconds
                job.join()
                outcome.get().shouldBeInstanceOf<ReadTimeoutException>()
                c.conn.connection.inputLen() shouldBe 1
                c.conn.readDeadline = null
                c.send("y")
                String(c.conn.readFully(2)) shouldBe "xy"
            }
        }
    }

    test("a read timeout of a wait that completed does nothing to the next read after it would have passed") {
        coTest {
            withConn { c ->
                c.conn.readTimeout = MOVABLE
                val started = now()
                val (job, outcome) = launchCatching { c.conn.readByte() shouldBe 1.toByte() }
                job.isActive.shouldBeTrue() // waiting, with the timeout armed for this wait
                c.send(byteArrayOf(1))
                job.join()
                outcome.get() shouldBe null
                c.conn.readTimeout = null // the next read has no bound at all
                waitPast(started + MOVABLE)
                val (job2, outcome2) = launchCatching { c.conn.readByte() shouldBe 2.toByte() }
                job2.isActive.shouldBeTrue()
                c.send(byteArrayOf(2))
                job2.join()
                outcome2.get() shouldBe null
            }
        }
    }

    test("an absolute read deadline cleared after its read completed does nothing to the next read after it would have passed") {
        coTest {
            withConn { c ->
                val first = now() + MOVABLE
                c.conn.readDeadline = first
                val (job, outcome) = launchCatching { c.conn.readByte() shouldBe 1.toByte() }
                c.send(byteArrayOf(1))
                job.join()
                outcome.get() shouldBe null
                c.conn.readDeadline = null
                waitPast(first)
                val (job2, outcome2) = launchCatching { c.conn.readByte() shouldBe 2.toByte() }
                job2.isActive.shouldBeTrue()
                c.send(byteArrayOf(2))
                job2.join()
                outcome2.get() shouldBe null
            }
        }
    }

    test("a write deadline ends a stuck flush with WriteTimeoutException, not a cancellation; the queued bytes are still delivered, once, in order") {
        coTest {
            withConn(peerReceiveBuffer = 4096) { c ->
                val outcome = AtomicReference<Throwable?>()
                val (job, written) = flushUntilSuspended(c) {
                    try {
                        c.conn.flush()
                    } catch (e: Throwable) {
                        outcome.set(e)
                    }
                }
                c.conn.writeDeadline = now() + SHORT // bounds the wait under way
                job.join()
                outcome.get().shouldNotBeInstanceOf<CancellationException>()
                outcome.get().shouldBeInstanceOf<WriteTimeoutException>()
                isActive.shouldBeTrue()
                c.conn.isActive.shouldBeTrue()
                c.conn.connection.sender().room.hasWaiter().shouldBeFalse()
                c.conn.writeDeadline = null
                c.peerReadsQueuedThenTrailer(written, "END")
            }
        }
    }

    test("a write timeout bounds each flush wait: WriteTimeoutException, the bytes stay queued and are sent, the next flush works") {
        coTest {
            withConn(peerReceiveBuffer = 4096) { c ->
                c.conn.writeTimeout = SHORT
                c.conn.writeTimeout shouldBe SHORT
                val outcome = AtomicReference<Throwable?>()
                val (job, written) = flushUntilSuspended(c) {
                    try {
                        c.conn.flush()
                    } catch (e: Throwable) {
                        outcome.set(e)
                    }
                }
                job.join()
                outcome.get().shouldBeInstanceOf<WriteTimeoutException>()
                isActive.shouldBeTrue()
                c.conn.writeTimeout = null
                c.peerReadsQueuedThenTrailer(written, "TAIL")
            }
        }
    }

    test("a write deadline already in the past fails a flush that must wait at once, without suspending") {
        coTest {
            withConn(peerReceiveBuffer = 4096) { c ->
                val (stuck, written) = flushUntilSuspended(c)
                stuck.cancel() // the socket stays full; the bytes stay queued
                stuck.join()
                c.conn.writeDeadline = now() - 1.seconds
                c.conn.output.writeString("MORE")
                val (job, outcome) = launchCatching { c.conn.flush() }
                job.isCompleted.shouldBeTrue() // never suspended
                outcome.get().shouldBeInstanceOf<WriteTimeoutException>()
                c.conn.writeDeadline = null
                c.peerReadsQueuedThenTrailer(written, "END", expected = "MOREEND") // MORE stayed queued: it comes first
            }
        }
    }

    test("moving the write deadline later or clearing it while a flush is suspended takes effect; moving it into the past fails the flush") {
        coTest {
            withConn(peerReceiveBuffer = 4096) { c ->
                val outcome = AtomicReference<Throwable?>()
                val (job, written) = flushUntilSuspended(c) {
                    try {
                        c.conn.flush()
                    } catch (e: Throwable) {
                        outcome.set(e)
                    }
                }
                job.isActive.shouldBeTrue()
                // set while suspended (filling the socket first can take longer than MOVABLE on a
                // loaded machine): the setter wakes the flush, which parks again under the new deadline
                val first = now() + MOVABLE
                c.conn.writeDeadline = first
                awaitTrue("the flush parked again under the first deadline") { c.conn.connection.sender().room.hasWaiter() }
                job.isActive.shouldBeTrue()
                c.conn.writeDeadline = now() + 1.hours // later
                waitPast(first)
                job.isActive.shouldBeTrue()
                val second = now() + MOVABLE
                c.conn.writeDeadline = second
                c.conn.writeDeadline = null // cleared
                waitPast(second)
                job.isActive.shouldBeTrue()
                c.conn.connection.sender().room.hasWaiter().shouldBeTrue()
                c.conn.writeDeadline = now() - 1.milliseconds // into the past: fails now
                job.join()
                outcome.get().shouldBeInstanceOf<WriteTimeoutException>()
                c.conn.writeDeadline = null
                c.peerReadsQueuedThenTrailer(written, "END")
            }
        }
    }
})
