package io.netpoll.coroutines

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.flushUntilSuspended
import io.netpoll.coroutines.CoTestKit.launchNow
import io.netpoll.coroutines.CoTestKit.stepTest
import io.netpoll.coroutines.CoTestKit.withConn
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.ConnectionResetException
import io.netpoll.error.EofException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference

/**
 * Closing under a suspended call: our own close from another thread or coroutine, the peer's FIN
 * (EOF is a value where Kotlin expects one, after every byte sent before it) and the peer's RST.
 */
class CoCloseTest : FunSpec({
    timeout = 60_000L

    for (from in listOf("another thread", "another coroutine")) {
        test("close() from $from resumes a suspended read with ConnectionClosedException") {
            stepTest { s ->
                withConn { c ->
                    c.send("ab")
                    c.awaitBuffered(2)
                    s.expect(1)
                    val job = launchNow {
                        s.expect(2)
                        val e = shouldThrow<ConnectionClosedException> { c.conn.readInt() }
                        e.cause.shouldBeNull() // closed normally, by us
                        s.expect(5)
                    }
                    s.expect(3)
                    job.isActive.shouldBeTrue()
                    if (from == "another thread") {
                        Thread { s.expect(4); c.conn.close() }.apply { start(); join(CoTestKit.WAIT_MS) }
                    } else {
                        launch(Dispatchers.Default) { s.expect(4); c.conn.close() }.join()
                    }
                    job.join()
                    c.conn.isActive.shouldBeFalse()
                    c.pd.rg.hasWaiter().shouldBeFalse()
                    withContext(Dispatchers.IO) { c.peer.getInputStream().read() } shouldBe -1 // the peer sees our FIN
                    shouldThrow<ConnectionClosedException> { c.conn.readInt() } // and every later call fails alike
                    s.finish(6)
                }
            }
        }
    }

    test("close() from another thread resumes a suspended flush with ConnectionClosedException") {
        stepTest { s ->
            withConn(peerReceiveBuffer = 4096) { c ->
                val outcome = AtomicReference<Throwable?>()
                s.expect(1)
                val (job, _) = flushUntilSuspended(c) {
                    try {
                        c.conn.flush()
                    } catch (e: CancellationException) {
                        throw e
                    } catch (e: Throwable) {
                        outcome.set(e)
                        s.expect(4)
                    }
                }
                s.expect(2)
                job.isActive.shouldBeTrue()
                Thread { s.expect(3); c.conn.close() }.apply { start(); join(CoTestKit.WAIT_MS) }
                job.join()
                outcome.get().shouldBeInstanceOf<ConnectionClosedException>()
                c.conn.isActive.shouldBeFalse()
                c.conn.connection.sender().room.hasWaiter().shouldBeFalse()
                c.conn.output.writeString("dropped") // writes after close are dropped ...
                shouldThrow<ConnectionClosedException> { c.conn.flush() } // ... and the next flush throws
                s.finish(5)
            }
        }
    }

    for (how in listOf("shutdownOutput", "close")) {
        test("after the peer's $how every byte sent before it is read first, then EOF: awaitReadable false, readAvailable -1, readLine null; next and readInt throw EofException") {
            coTest {
                withConn { c ->
                    c.send("line1\r\nabc")
                    if (how == "close") c.peer.close() else c.peer.shutdownOutput()
                    awaitTrue("the poller read the FIN") { c.conn.connection.inputEof() }
                    c.conn.readLine() shouldBe "line1"
                    c.conn.awaitReadable(4).shouldBeFalse() // fewer left than asked: they stay readable
                    c.conn.input.len() shouldBe 3
                    c.conn.awaitReadable(3).shouldBeTrue()
                    shouldThrow<EofException> { c.conn.readInt() } // needs 4: consumes nothing
                    shouldThrow<EofException> { c.conn.next(4) }
                    c.conn.readLine() shouldBe "abc" // the partial last line
                    c.conn.awaitReadable().shouldBeFalse()
                    c.conn.readAvailable(ByteArray(8)) shouldBe -1
                    c.conn.readLine().shouldBeNull()
                    shouldThrow<EofException> { c.conn.next(1) }
                    shouldThrow<EofException> { c.conn.readInt() }
                    shouldThrow<EofException> { c.conn.readByte() }
                    if (how == "shutdownOutput") {
                        // a half-close: we can still answer, the application decides when to close
                        c.conn.isActive.shouldBeTrue()
                        c.conn.writeAndFlush("bye".toByteArray())
                        String(CoTestKit.readFully(c.peer.getInputStream(), 3)) shouldBe "bye"
                    }
                }
            }
        }
    }

    test("the peer's FIN resumes a read suspended for more bytes with EofException; the bytes before it stay readable") {
        coTest {
            withConn { c ->
                c.send(byteArrayOf(1, 2))
                c.awaitBuffered(2)
                val outcome = AtomicReference<Throwable?>()
                val job = launchNow {
                    try {
                        c.conn.readInt()
                    } catch (e: Throwable) {
                        outcome.set(e)
                    }
                }
                job.isActive.shouldBeTrue()
                c.peer.shutdownOutput()
                job.join()
                outcome.get().shouldBeInstanceOf<EofException>()
                c.conn.readFully(2).toList() shouldBe listOf<Byte>(1, 2)
                c.conn.awaitReadable().shouldBeFalse()
            }
        }
    }

    test("the peer's RST resumes a suspended read with ConnectionClosedException caused by ConnectionResetException, and the connection is closed") {
        coTest {
            withConn { c ->
                val outcome = AtomicReference<Throwable?>()
                val job = launchNow {
                    try {
                        c.conn.readLine()
                    } catch (e: Throwable) {
                        outcome.set(e)
                    }
                }
                job.isActive.shouldBeTrue()
                c.peer.setSoLinger(true, 0)
                c.peer.close() // RST
                job.join()
                val e = outcome.get()
                e.shouldBeInstanceOf<ConnectionClosedException>()
                e.cause.shouldBeInstanceOf<ConnectionResetException>()
                c.conn.isActive.shouldBeFalse()
                c.conn.connection.closeCause().shouldBeInstanceOf<ConnectionResetException>()
                shouldThrow<ConnectionClosedException> { c.conn.awaitReadable() }
            }
        }
    }

    test("bytes that came before the peer's RST are read first; the read at their end throws ConnectionClosedException caused by ConnectionResetException and closes the connection") {
        coTest {
            withConn { c ->
                c.send(byteArrayOf(0, 0, 0, 42))
                c.awaitBuffered(4)
                c.peer.setSoLinger(true, 0)
                c.peer.close() // RST
                awaitTrue("the poller read the reset") { c.conn.connection.inputEof() }
                c.conn.isActive.shouldBeTrue() // its input is not read yet
                c.conn.readInt() shouldBe 42
                val e = shouldThrow<ConnectionClosedException> { c.conn.readInt() }
                e.cause.shouldBeInstanceOf<ConnectionResetException>()
                awaitTrue("closed with the reset") { !c.conn.isActive }
                c.conn.connection.closeCause().shouldBeInstanceOf<ConnectionResetException>()
                shouldThrow<ConnectionClosedException> { c.conn.awaitReadable(1) }
            }
        }
    }

    test("a flush that the peer's RST fails throws ConnectionResetException, and so does the next; the bytes that came before the RST are still read, then ConnectionClosedException caused by it") {
        coTest {
            withConn { c ->
                c.send(byteArrayOf(0, 0, 0, 42, 0, 0, 0, 43))
                c.awaitBuffered(8)
                c.peer.setSoLinger(true, 0)
                c.peer.close() // RST
                awaitTrue("the poller read the reset") { c.conn.connection.inputEof() }
                repeat(2) { shouldThrow<ConnectionResetException> { c.conn.writeAndFlush("a late answer".toByteArray()) } }
                c.conn.isActive.shouldBeTrue() // the failed write ended the output only
                c.conn.readInt() shouldBe 42
                c.conn.readInt() shouldBe 43
                val e = shouldThrow<ConnectionClosedException> { c.conn.readInt() }
                e.cause.shouldBeInstanceOf<ConnectionResetException>()
                awaitTrue("closed") { !c.conn.isActive }
            }
        }
    }

    test("a read off the poller, parked when the peer's bytes and then its RST arrive, gets the bytes; the next read throws ConnectionClosedException caused by the reset") {
        coTest {
            withConn { c ->
                val (v, end) = readDecidingAfter(c, read = {
                    c.conn.awaitReadable(8) // off the poller: the general wait
                    val v = c.conn.readLong()
                    val end = try {
                        c.conn.awaitReadable(1)
                    } catch (e: Throwable) {
                        e
                    }
                    v to end
                }) {
                    // the read decides with the bytes and the reset both known
                    c.send(ByteArray(8) { (it + 1).toByte() })
                    c.peer.setSoLinger(true, 0)
                    c.peer.close() // RST after the bytes
                    awaitTrue("the poller read the reset") { c.conn.connection.inputEof() }
                }
                v shouldBe 0x0102030405060708L
                end.shouldBeInstanceOf<ConnectionClosedException>()
                end.cause.shouldBeInstanceOf<ConnectionResetException>()
            }
        }
    }

    test("a read woken by bytes that decides after a local close throws ConnectionClosedException, never true over input the close took") {
        coTest {
            withConn { c ->
                val r = readDecidingAfter(c, read = {
                    try {
                        c.conn.awaitReadable(8) // off the poller: the general wait
                    } catch (e: Throwable) {
                        e
                    }
                }) {
                    // woken by the bytes or by the close, the read decides after the close
                    c.send(ByteArray(8) { it.toByte() })
                    c.awaitBuffered(8)
                    c.conn.close()
                }
                r.shouldBeInstanceOf<ConnectionClosedException>()
                r.cause.shouldBeNull()
                shouldThrow<ConnectionClosedException> { c.conn.readInt() }
            }
        }
    }
})

/**
 * Runs [read] on a reader thread of its own (off the poller: the general wait) and waits until it
 * parks; then keeps that thread busy while [meanwhile] runs, so that the read, whatever wakes it,
 * decides only after [meanwhile] is done. Returns what [read] returned.
 */
private suspend fun <T> readDecidingAfter(c: CoTestKit.TestConn, read: suspend () -> T, meanwhile: suspend () -> Unit): T {
    val executor = Executors.newSingleThreadExecutor()
    try {
        return coroutineScope {
            val result = async(executor.asCoroutineDispatcher()) { read() }
            // the waiter stored, not just WAIT: in WAIT the reader thread is still deciding and could
            // see the bytes before meanwhile's close (CI saw `true` that way)
            awaitTrue("the read parked") { c.rgState().startsWith("ContinuationWaiter") }
            val readerFree = CountDownLatch(1)
            val readerHeld = CountDownLatch(1)
            executor.execute {
                readerHeld.countDown()
                readerFree.await(CoTestKit.WAIT_MS, TimeUnit.MILLISECONDS)
            }
            // the reader thread runs this only once the read has returned from its suspension: a wake-up
            // between storing the waiter and suspending would resume the read there and then
            check(readerHeld.await(CoTestKit.WAIT_MS, TimeUnit.MILLISECONDS)) { "the reader thread was never free" }
            try {
                meanwhile()
            } finally {
                readerFree.countDown()
            }
            result.await()
        }
    } finally {
        executor.shutdownNow()
    }
}
