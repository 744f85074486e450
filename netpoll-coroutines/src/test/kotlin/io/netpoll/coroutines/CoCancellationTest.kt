package io.netpoll.coroutines

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.netpoll.coroutines.CoTestKit.TestConn
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.flushUntilSuspended
import io.netpoll.coroutines.CoTestKit.launchNow
import io.netpoll.coroutines.CoTestKit.readPattern
import io.netpoll.coroutines.CoTestKit.stepTest
import io.netpoll.coroutines.CoTestKit.withConn
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import java.util.concurrent.atomic.AtomicLong
import kotlin.random.Random

/**
 * Cancelling a coroutine suspended in a read or a flush: in the order of steps of kotlinx.coroutines'
 * own tests, the continuation leaves the wait word, nothing is consumed (the same bytes are read
 * later, none lost or duplicated) and the connection stays usable.
 */
class CoCancellationTest : FunSpec({
    timeout = 60_000L

    /** A read that must suspend with [partial] buffered, and what reading again must give once [rest] came. */
    class ReadCase(
        val name: String,
        val partial: ByteArray,
        val rest: ByteArray,
        val read: suspend (SuspendConnection) -> Any?,
        val expected: Any?,
    )

    val cases = listOf(
        ReadCase("awaitReadable", "abc".toByteArray(), "defgh".toByteArray(), { c -> c.awaitReadable(8); c.readString(8) }, "abcdefgh"),
        ReadCase("next", "abc".toByteArray(), "defgh".toByteArray(), { c ->
            val view = c.next(8)
            val b = ByteArray(8).also { view.get(it) }
            c.release()
            String(b)
        }, "abcdefgh"),
        ReadCase("readInt", byteArrayOf(0x12, 0x34), byteArrayOf(0x56, 0x78), { c -> c.readInt() }, 0x12345678),
        ReadCase("readLine", "hel".toByteArray(), "lo\n".toByteArray(), { c -> c.readLine() }, "hello"),
    )

    /** The connection still works both ways: a write the peer reads, then a read of what the peer sends. */
    suspend fun TestConn.shouldStillWork() {
        conn.isActive.shouldBeTrue()
        conn.writeAndFlush("ping".toByteArray())
        String(CoTestKit.readFully(peer.getInputStream(), 4)) shouldBe "ping"
        send("pong")
        conn.readString(4) shouldBe "pong"
    }

    for (case in cases) {
        test("cancelling a coroutine suspended in ${case.name} removes its continuation from rg, consumes nothing, and the connection stays usable") {
            stepTest { s ->
                withConn { c ->
                    c.send(case.partial)
                    c.awaitBuffered(case.partial.size)
                    s.expect(1)
                    val job = launchNow {
                        s.expect(2)
                        try {
                            case.read(c.conn)
                            s.expectUnreached()
                        } catch (e: CancellationException) {
                            s.expect(4)
                            throw e
                        }
                    }
                    s.expect(3)
                    job.isActive.shouldBeTrue() // suspended: not enough bytes yet
                    c.pd.rg.hasWaiter().shouldBeTrue() // its continuation is parked in the read word
                    job.cancelAndJoin()
                    s.expect(5)
                    job.isCancelled.shouldBeTrue()
                    c.pd.rg.hasWaiter().shouldBeFalse()
                    c.pd.rg.toString() shouldBe "NIL" // nothing left behind, no readiness invented
                    c.conn.connection.inputLen() shouldBe case.partial.size // nothing consumed
                    c.send(case.rest)
                    case.read(c.conn) shouldBe case.expected // exactly the bytes: none lost, none twice
                    c.conn.connection.inputLen() shouldBe 0
                    c.shouldStillWork()
                    s.finish(6)
                }
            }
        }
    }

    test("cancelling a coroutine suspended in flush removes it from the room word; the bytes it handed over are sent once, in order, and the connection stays usable") {
        stepTest { s ->
            withConn(peerReceiveBuffer = 4096) { c ->
                s.expect(1)
                val (job, written) = flushUntilSuspended(c) {
                    try {
                        c.conn.flush()
                    } catch (e: CancellationException) {
                        s.expect(3)
                        throw e
                    }
                }
                s.expect(2)
                job.isActive.shouldBeTrue()
                c.conn.connection.sender().room.hasWaiter().shouldBeTrue() // the flush is parked there
                job.cancelAndJoin()
                s.expect(4)
                c.conn.connection.sender().room.hasWaiter().shouldBeFalse()
                c.conn.isActive.shouldBeTrue()
                // the peer starts reading: every byte handed over arrives, in order, then a trailer flushed now
                val reader = async(Dispatchers.IO) {
                    val bad = readPattern(c.peer.getInputStream(), written)
                    bad to String(CoTestKit.readFully(c.peer.getInputStream(), 3))
                }
                c.conn.output.writeString("END")
                c.conn.flush() // suspends until the peer has read enough, then completes
                s.expect(5)
                val (bad, trailer) = reader.await()
                bad shouldBe 0L
                trailer shouldBe "END" // right after the last queued byte: nothing lost, nothing twice
                c.shouldStillWork()
                s.finish(6)
            }
        }
    }

    test("withTimeout around a read throws TimeoutCancellationException, consumes nothing, and the connection stays usable") {
        stepTest { s ->
            withConn { c ->
                c.send(byteArrayOf(0, 0))
                c.awaitBuffered(2)
                s.expect(1)
                shouldThrow<TimeoutCancellationException> {
                    withTimeout(CoTestKit.SHORT) {
                        s.expect(2)
                        c.conn.readInt()
                        s.expectUnreached()
                    }
                }
                s.expect(3)
                isActive.shouldBeTrue() // only the withTimeout block was cancelled
                c.pd.rg.hasWaiter().shouldBeFalse()
                c.conn.connection.inputLen() shouldBe 2
                c.send(byteArrayOf(1, 2))
                c.conn.readInt() shouldBe 0x0102
                c.shouldStillWork()
                s.finish(4)
            }
        }
    }

    for (inPlace in listOf(false, true)) {
        val where = if (inPlace) "resumed in place on the poller" else "resumed on the test thread"
        test("reads cancelled at random while bytes stream in lose and duplicate no byte ($where)") {
            coTest {
                withConn { c ->
                    val total = 300_000L
                    val consumed = AtomicLong()
                    val bad = AtomicLong()
                    var cancelled = 0
                    val writer = launch(Dispatchers.IO) {
                        val rnd = Random(1)
                        var sent = 0L
                        while (sent < total) {
                            val n = minOf(total - sent, rnd.nextLong(1, 200)).toInt()
                            c.send(CoTestKit.pattern(sent, n))
                            sent += n
                            if (rnd.nextBoolean()) Thread.sleep(0, 100_000) // let the reader catch up and wait
                        }
                    }
                    val rnd = Random(2)
                    val buf = ByteArray(256)
                    var rounds = 0
                    while (consumed.get() < total && rounds < 2_000_000) {
                        rounds++
                        val len = rnd.nextInt(1, buf.size)
                        val body: suspend () -> Unit = {
                            val n = c.conn.readAvailable(buf, 0, len)
                            // no suspension from here on: the accounting cannot be cut off by the cancel
                            val at = consumed.get()
                            for (k in 0 until n) if (buf[k] != CoTestKit.patternByte(at + k)) bad.incrementAndGet()
                            consumed.addAndGet(n.toLong())
                        }
                        val job = if (inPlace) launch(c.conn.dispatcher) { body() } else launchNow { body() }
                        when (rnd.nextInt(3)) {
                            0 -> {}
                            1 -> yield()
                            else -> repeat(rnd.nextInt(1, 4)) { yield() }
                        }
                        if (job.isActive) cancelled++
                        job.cancelAndJoin()
                    }
                    writer.join()
                    consumed.get() shouldBe total
                    bad.get() shouldBe 0L
                    c.conn.connection.inputLen() shouldBe 0
                    c.pd.rg.hasWaiter().shouldBeFalse()
                    println("cancel race ($where): $rounds reads, $cancelled cancelled while pending")
                    cancelled.toLong() shouldBeGreaterThan 0L
                    withContext(Dispatchers.Default) { c.shouldStillWork() }
                }
            }
        }
    }
})
