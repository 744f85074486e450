package io.netpoll.coroutines

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldStartWith
import io.netpoll.coroutines.CoTestKit.QuietCancellation
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.onPoller
import io.netpoll.coroutines.CoTestKit.ownClient
import io.netpoll.coroutines.CoTestKit.usedHeapAfterGc
import io.netpoll.coroutines.CoTestKit.withConn
import io.netpoll.error.ConnectionClosedException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.ThreadContextElement
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.cancel
import kotlinx.coroutines.joinAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import kotlin.coroutines.AbstractCoroutineContextElement
import kotlin.coroutines.CoroutineContext
import kotlin.time.Duration.Companion.seconds

/**
 * Coroutines running on their connection's poller ([dispatcher]) park in a reusable slot of the
 * read word instead of a `CancellableContinuation` per wait; these tests hold that path to the same
 * rules as the general one: cancellation (job, `withTimeout`, already cancelled, `NonCancellable`),
 * close from another thread, nothing left behind after many cancelled waits, contexts that need the
 * general path, and bounded nesting when one resumption wakes the next.
 */
/** A context element that puts [tag] in a thread-local while its coroutine runs (as MDC-style elements do). */
private class Tagged(val tag: String) : AbstractCoroutineContextElement(Key), ThreadContextElement<String?> {
    companion object Key : CoroutineContext.Key<Tagged> {
        val local = ThreadLocal<String?>()
    }

    override fun updateThreadContext(context: CoroutineContext): String? = local.get().also { local.set(tag) }

    override fun restoreThreadContext(context: CoroutineContext, oldState: String?) = local.set(oldState)
}

class CoPollerParkingTest : FunSpec({
    timeout = 120_000L

    test("a read from the connection's poller dispatcher parks in the reusable slot and resumes on the poller thread with the bytes") {
        coTest {
            withConn { c ->
                val read = async(c.conn.dispatcher) {
                    val v = c.conn.readInt()
                    v to c.poller.inEventLoop()
                }
                awaitTrue("the read parked") { c.rgState() != "NIL" }
                c.rgState() shouldStartWith "ParkSlot"
                c.send(byteArrayOf(0, 0, 0x30, 0x39))
                read.await() shouldBe (12345 to true)
            }
        }
    }

    test("cancelling a read parked in the slot resumes it with CancellationException, leaves the word NIL, consumes nothing, and the bytes are read later") {
        coTest {
            withConn { c ->
                c.send("ab")
                c.awaitBuffered(2)
                val outcome = CompletableDeferred<Throwable?>()
                val job = launch(c.conn.dispatcher) {
                    try {
                        c.conn.readInt()
                        outcome.complete(null)
                    } catch (e: CancellationException) {
                        outcome.complete(e)
                        throw e
                    }
                }
                awaitTrue("the read parked") { c.rgState().startsWith("ParkSlot") }
                job.cancel(QuietCancellation())
                job.join()
                (outcome.await() is CancellationException).shouldBeTrue()
                c.rgState() shouldBe "NIL"
                c.conn.connection.inputLen() shouldBe 2
                c.send("cd")
                withContext(c.conn.dispatcher) { c.conn.readString(4) } shouldBe "abcd"
            }
        }
    }

    test("withTimeout around a slot read cancels only that read; the coroutine then reads on in its own job") {
        coTest {
            withConn { c ->
                val timedOut = CompletableDeferred<Boolean>()
                val r = async(c.conn.dispatcher) {
                    val t = try {
                        withTimeout(50) { c.conn.readInt() }
                        false
                    } catch (e: TimeoutCancellationException) {
                        true
                    }
                    timedOut.complete(t)
                    c.conn.readInt()
                }
                timedOut.await().shouldBeTrue()
                awaitTrue("the next read parked") { c.rgState().startsWith("ParkSlot") }
                c.send(byteArrayOf(0, 0, 0, 7))
                r.await() shouldBe 7
            }
        }
    }

    test("a read in a cancelled coroutine throws CancellationException at once, and reads under NonCancellable still work") {
        coTest {
            withConn { c ->
                c.send(byteArrayOf(0, 0, 0, 1))
                c.awaitBuffered(4)
                val seen = CompletableDeferred<Pair<Throwable?, Int>>()
                val job = launch(c.conn.dispatcher) {
                    cancel(QuietCancellation()) // this coroutine is cancelling from now on
                    c.conn.readInt() shouldBe 1 // buffered: no wait, so no cancellation check (as kotlinx)
                    val first = runCatching { c.conn.readInt() }.exceptionOrNull() // must wait: cancelled
                    val second = withContext(NonCancellable) {
                        c.send(byteArrayOf(0, 0, 0, 2))
                        c.conn.readInt()
                    }
                    seen.complete(first to second)
                }
                job.join()
                val (first, second) = seen.await()
                (first is CancellationException).shouldBeTrue()
                second shouldBe 2
                c.rgState() shouldBe "NIL"
            }
        }
    }

    test("close from another thread resumes a slot read with ConnectionClosedException on the poller thread") {
        coTest {
            withConn { c ->
                val r = async(c.conn.dispatcher) {
                    val e = shouldThrow<ConnectionClosedException> { c.conn.readInt() }
                    e to c.poller.inEventLoop()
                }
                awaitTrue("the read parked") { c.rgState().startsWith("ParkSlot") }
                Thread { c.conn.close() }.apply { start() }.join()
                r.await().second.shouldBeTrue()
            }
        }
    }

    test("a context with a ThreadContextElement takes the general path and sees its element again after resuming") {
        val local = Tagged.local
        coTest {
            withConn { c ->
                val r = async(c.conn.dispatcher + Tagged("handler-42")) {
                    val v = c.conn.readInt()
                    v to local.get()
                }
                awaitTrue("the read parked") { c.rgState() != "NIL" }
                c.rgState() shouldStartWith "ContinuationWaiter"
                c.send(byteArrayOf(0, 0, 0, 9))
                r.await() shouldBe (9 to "handler-42")
                onPoller(c.poller) { local.get() } shouldBe null // restored on the poller thread
            }
        }
    }

    test("20,000 cancelled slot waits in jobs of their own, and 20,000 slot switches under one long-lived job, leave nothing behind") {
        coTest(timeout = 90.seconds) {
            withConn { c ->
                c.send("abc")
                c.awaitBuffered(3)
                val d = c.conn.dispatcher
                val n = 20_000

                /** A wait in a job of its own, cancelled: its slot and hook go with the job. */
                suspend fun cancelledWait(): Boolean {
                    val job = launch(d) { c.conn.readInt() }
                    val parked = c.rgState() != "NIL"
                    job.cancel(QuietCancellation())
                    job.join()
                    return parked
                }

                /**
                 * One long-lived coroutine switching between its own job (a wait the peer's bytes end) and a
                 * child's (a wait that is cancelled): without dropping the old hook at each switch, the
                 * long-lived job would collect one per switch.
                 */
                suspend fun CoroutineScope.switches(k: Int) = repeat(k) {
                    launch(d) { c.send(byteArrayOf(0, 0, 0, 5)) } // runs once the read below has parked
                    c.conn.readInt() // 3 bytes left over each time: the child's wait below must park
                    c.conn.release() // the consumed bytes' memory (heap and pool) goes back
                    val child = launch(start = CoroutineStart.UNDISPATCHED) { c.conn.readInt() }
                    child.cancel(QuietCancellation())
                    child.join()
                }
                repeat(500) { cancelledWait() }
                val heap0 = usedHeapAfterGc()
                var parked = 0
                repeat(n) { if (cancelledWait()) parked++ }
                val heap1 = usedHeapAfterGc()
                // measured while the long-lived job is still alive: what it collected is still there
                val (heap2, heap3) = withContext(d) {
                    switches(500)
                    val before = usedHeapAfterGc()
                    switches(n)
                    before to usedHeapAfterGc()
                }
                println("20k cancelled slot waits: heap ${heap0 / 1024} -> ${heap1 / 1024} KiB; 20k slot switches: ${heap2 / 1024} -> ${heap3 / 1024} KiB")
                parked shouldBeGreaterThan n / 2 // most of them really parked
                c.rgState() shouldBe "NIL"
                // a retained slot, hook or continuation per wait or switch would be over a MiB
                (heap1 - heap0) shouldBeLessThan (512L shl 10)
                (heap3 - heap2) shouldBeLessThan (512L shl 10)
                c.conn.connection.inputLen() shouldBe 3 // nothing lost or consumed twice
                c.send("d")
                withContext(d) { c.conn.readInt() } shouldBe 0x00000564 // the residue 00 00 05, then 'd'
                c.conn.isActive.shouldBeTrue()
            }
        }
    }

    test("a chain of 200 closes, each resumed read closing the next connection, completes with resumptions nested at most MAX_NESTING deep") {
        coTest(timeout = 60.seconds) {
            val client = ownClient(name = "co-chain")
            ServerSocket().use { ss ->
                ss.bind(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256)
                val peers = ArrayList<Socket>()
                try {
                    val conns = (0 until 200).map {
                        val conn = client.dial("tcp", "127.0.0.1:${ss.localPort}", 10.seconds)
                        peers += ss.accept()
                        conn
                    }
                    val d = conns[0].dispatcher
                    conns.forEach { it.connection.poller() shouldBe d.poller } // one poller: every wake is on it
                    var maxNesting = 0
                    val jobs = conns.mapIndexed { i, conn ->
                        launch(d) {
                            shouldThrow<ConnectionClosedException> { conn.readInt() }
                            maxNesting = maxOf(maxNesting, d.nesting)
                            if (i + 1 < conns.size) conns[i + 1].close()
                        }
                    }
                    awaitTrue("all 200 reads parked") { onPoller(d.poller) { conns.all { it.connection.pollDesc().rg.hasWaiter() } } }
                    conns[0].close()
                    jobs.joinAll()
                    maxNesting shouldBeGreaterThan 1 // resumed in place, one inside the other
                    maxNesting shouldBeLessThanOrEqual PollerDispatcher.MAX_NESTING
                    conns.all { !it.isActive }.shouldBeTrue()
                    conns.none { it.connection.pollDesc().rg.hasWaiter() }.shouldBeTrue()
                } finally {
                    peers.forEach { it.close() }
                    client.close()
                }
            }
        }
    }
})
