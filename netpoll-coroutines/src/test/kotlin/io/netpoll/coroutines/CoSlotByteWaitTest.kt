package io.netpoll.coroutines

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldStartWith
import io.netpoll.coroutines.CoTestKit.QuietCancellation
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.pattern
import io.netpoll.coroutines.CoTestKit.usedHeapAfterGc
import io.netpoll.coroutines.CoTestKit.withConn
import io.netpoll.error.ConcurrentAccessException
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.ReadTimeoutException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * A read on the connection's poller with no per-wait timeout waits in the read slot, which checks
 * the input itself on every wake-up and resumes the reader once, with the outcome. These tests hold
 * that path to the read contract: partial arrivals re-park it, end of input, an absolute deadline
 * (and moving it), a second reader, and bytes that arrived before the wait.
 */
class CoSlotByteWaitTest : FunSpec({
    timeout = 60_000L

    test("a read of 1,000 bytes that arrive in 1-byte pieces stays parked in the slot until the last one, then returns all of them in order") {
        coTest {
            withConn { c ->
                val data = pattern(0, 1000)
                val read = async(c.conn.dispatcher) { c.conn.readFully(1000) }
                awaitTrue("the read parked") { c.rgState().startsWith("ParkSlot") }
                for (i in 0 until 999) c.send(byteArrayOf(data[i]))
                c.awaitBuffered(999)
                // every piece woke the slot, which re-parked itself: the reader has not run
                awaitTrue("the slot re-parked after the 999th byte") { c.rgState().startsWith("ParkSlot") }
                read.isCompleted.shouldBeFalse()
                c.send(byteArrayOf(data[999]))
                read.await().toList() shouldBe data.toList()
                c.rgState() shouldBe "NIL"
                c.conn.connection.inputLen() shouldBe 0
            }
        }
    }

    test("the peer finishing while a slot wait needs more: awaitReadable returns false and the bytes that came stay readable") {
        coTest {
            withConn { c ->
                val r = async(c.conn.dispatcher) {
                    val ok = c.conn.awaitReadable(8)
                    ok to c.conn.input.len()
                }
                awaitTrue("the read parked") { c.rgState().startsWith("ParkSlot") }
                c.send("abc")
                c.peer.shutdownOutput()
                r.await() shouldBe (false to 3)
                withContext(c.conn.dispatcher) { c.conn.readString(3) } shouldBe "abc"
            }
        }
    }

    test("an absolute read deadline ends a slot wait with ReadTimeoutException, consumes nothing, and a read after clearing it gets the bytes") {
        coTest {
            withConn { c ->
                c.send("xy")
                c.awaitBuffered(2)
                val r = async(c.conn.dispatcher) {
                    c.conn.readDeadline = TimeSource.Monotonic.markNow() + 100.milliseconds
                    val e = runCatching { c.conn.readInt() }.exceptionOrNull()
                    c.conn.readDeadline = null
                    e to c.conn.input.len()
                }
                val (e, left) = r.await()
                (e is ReadTimeoutException).shouldBeTrue()
                left shouldBe 2
                c.conn.isActive.shouldBeTrue()
                c.send("zw")
                withContext(c.conn.dispatcher) { c.conn.readString(4) } shouldBe "xyzw"
            }
        }
    }

    test("a deadline moved later while a slot read waits keeps it waiting; it returns the bytes that come before the new deadline") {
        coTest {
            withConn { c ->
                val r = async(c.conn.dispatcher) {
                    // 5 s: the test thread must move it before it passes, even on a loaded machine
                    c.conn.readDeadline = TimeSource.Monotonic.markNow() + 5.seconds
                    c.conn.readInt()
                }
                awaitTrue("the read parked") { c.rgState().startsWith("ParkSlot") }
                c.conn.readDeadline = TimeSource.Monotonic.markNow() + 30.seconds
                Thread.sleep(5200) // past the first deadline
                r.isCompleted.shouldBeFalse()
                c.send(byteArrayOf(0, 0, 1, 2))
                r.await() shouldBe 258
            }
        }
    }

    test("a second reader while one waits in the slot gets ConcurrentAccessException; the first still gets its bytes") {
        coTest {
            withConn { c ->
                val first = parkedReadRefusingASecond(c)
                c.rgState() shouldStartWith "ParkSlot"
                c.send(byteArrayOf(0, 0, 0, 42))
                first.await() shouldBe 42
            }
        }
    }

    test("a second reader refused while one waits in the slot leaves the first one cancellable") {
        coTest {
            withConn { c ->
                val first = parkedReadRefusingASecond(c)
                // the refused reader must not have dropped the first one's hook on its job
                withTimeoutOrNull(5.seconds) { first.cancelAndJoin() }.shouldNotBeNull()
                first.isCancelled.shouldBeTrue()
                c.rgState() shouldBe "NIL"
                c.send(byteArrayOf(0, 0, 0, 7)) // and the connection reads on
                withContext(c.conn.dispatcher) { c.conn.readInt() } shouldBe 7
            }
        }
    }

    test("bytes that arrived before a slot read are returned without parking, and the next read parks again") {
        coTest {
            withConn { c ->
                c.send(byteArrayOf(0, 0, 0, 1, 0, 0))
                c.awaitBuffered(6)
                val r = async(c.conn.dispatcher) {
                    val a = c.conn.readInt()
                    val b = c.conn.readInt() // 2 of its 4 bytes are there: parks
                    a to b
                }
                awaitTrue("the second read parked") { c.rgState().startsWith("ParkSlot") }
                c.send(byteArrayOf(0, 2))
                r.await() shouldBe (1 to 2)
            }
        }
    }

    test("100,000 cancelled byte waits in the slot leave the word NIL, consume nothing, hold no pool bytes or heap, and the connection reads on") {
        coTest(timeout = 60.seconds) {
            withConn { c ->
                c.send("abc")
                c.awaitBuffered(3)
                val conn = c.conn
                val reads: List<suspend () -> Unit> = listOf(
                    { conn.awaitReadable(4) },
                    { conn.readInt() },
                    { conn.next(4) },
                    { conn.readFully(10) },
                )
                val (parked, heap) = withContext(conn.dispatcher) {
                    suspend fun cancelledWaits(n: Int): Int {
                        var parked = 0
                        for (i in 0 until n) {
                            val job = launch(start = CoroutineStart.UNDISPATCHED) { reads[i % reads.size]() }
                            if (c.pd.rg.toString().startsWith("ParkSlot")) parked++
                            job.cancel(QuietCancellation())
                            job.join()
                        }
                        return parked
                    }
                    cancelledWaits(2_000)
                    val pool0 = c.pool.bytesInUse()
                    val heap0 = usedHeapAfterGc()
                    val parked = cancelledWaits(100_000)
                    c.pool.bytesInUse() shouldBe pool0
                    parked to (usedHeapAfterGc() - heap0)
                }
                println("100k cancelled slot byte waits: $parked parked in the slot, heap growth ${heap / 1024} KiB")
                parked shouldBe 100_000
                heap shouldBeLessThan (4L shl 20)
                c.rgState() shouldBe "NIL"
                conn.connection.inputLen() shouldBe 3
                c.send("d")
                withContext(conn.dispatcher) { conn.readString(4) } shouldBe "abcd"
            }
        }
    }

    test("a read after the connection was closed locally throws ConnectionClosedException on the slot path too, even with the bytes buffered") {
        coTest {
            withConn { c ->
                c.send("abcd")
                c.awaitBuffered(4)
                val outcomes = withContext(c.conn.dispatcher) {
                    c.conn.close()
                    listOf(
                        runCatching { c.conn.awaitReadable(4) }.exceptionOrNull(),
                        runCatching { c.conn.readInt() }.exceptionOrNull(),
                        runCatching { c.conn.next(2) }.exceptionOrNull(),
                    )
                }
                outcomes.forEach { (it is ConnectionClosedException).shouldBeTrue() }
            }
        }
    }
})

/** A readInt parked in [c]'s read slot, and a second read refused meanwhile with [ConcurrentAccessException]. */
private suspend fun CoroutineScope.parkedReadRefusingASecond(c: CoTestKit.TestConn): Deferred<Int> {
    val first = async(c.conn.dispatcher) { c.conn.readInt() }
    awaitTrue("the first read parked") { c.rgState().startsWith("ParkSlot") }
    val second = async(c.conn.dispatcher) { runCatching { c.conn.readLong() }.exceptionOrNull() }
    (second.await() is ConcurrentAccessException).shouldBeTrue()
    return first
}
