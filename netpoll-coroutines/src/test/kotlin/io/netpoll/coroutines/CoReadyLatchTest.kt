package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.withConn
import io.netpoll.poll.PollDesc
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.util.concurrent.atomic.AtomicInteger
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.CoroutineContext

/**
 * Readiness that comes before the wait is never lost and never waited for: bytes already buffered
 * are served without suspending; readiness latched in the read word (READY) while nobody waited is
 * consumed by the next wait without parking; readiness that arrives between the buffer check and
 * the park is seen.
 */
class CoReadyLatchTest : FunSpec({
    timeout = 60_000L

    /** Counts how often a coroutine on it is resumed after a suspension (every resume is a dispatch). */
    class CountingDispatcher(private val delegate: CoroutineDispatcher) : CoroutineDispatcher() {
        val dispatches = AtomicInteger()
        override fun isDispatchNeeded(context: CoroutineContext): Boolean = true
        override fun dispatch(context: CoroutineContext, block: Runnable) {
            dispatches.incrementAndGet()
            delegate.dispatch(context, block)
        }
    }

    /** Starts [block] undispatched on a [CountingDispatcher] over this event loop. */
    fun CoroutineScope.launchCounted(block: suspend CoroutineScope.() -> Unit): kotlin.Pair<Job, CountingDispatcher> {
        val d = CountingDispatcher(coroutineContext[ContinuationInterceptor] as CoroutineDispatcher)
        return launch(d, CoroutineStart.UNDISPATCHED, block) to d
    }

    val reads: List<kotlin.Pair<String, suspend (SuspendConnection) -> Any?>> = listOf(
        "awaitReadable" to { c -> c.awaitReadable(6) },
        "readFully" to { c -> String(c.readFully(6)) },
        "readLine" to { c -> c.readLine() },
        "readInt" to { c -> c.readInt() },
        "next" to { c -> c.next(6).remaining() },
        "readAvailable" to { c -> c.readAvailable(ByteArray(16)) },
    )

    for ((name, read) in reads) {
        test("$name returns bytes that arrived before it without suspending, and suspends (one resume) for bytes that come later") {
            coTest {
                withConn { c ->
                    c.send("hello\n")
                    c.awaitBuffered(6)
                    val (job, counter) = launchCounted { read(c.conn) }
                    job.isCompleted.shouldBeTrue() // ran to the end inside launch: never suspended
                    counter.dispatches.get() shouldBe 0
                    c.conn.input.let { it.skip(it.len()); it.release() }

                    // the detector itself: the same read with nothing buffered suspends and is resumed once
                    val (later, counter2) = launchCounted { read(c.conn) }
                    later.isActive.shouldBeTrue()
                    c.send("world\n")
                    later.join()
                    counter2.dispatches.get() shouldBe 1
                }
            }
        }
    }

    test("readiness latched in the read word while nobody waited is consumed by the next wait, which never returns without data") {
        coTest {
            withConn { c ->
                c.send("abc")
                c.awaitBuffered(3)
                awaitTrue("READY latched by the poller's read") { c.pd.rg.isReady() }
                val (job, counter) = launchCounted { c.conn.awaitReadable(3).shouldBeTrue() }
                job.isCompleted.shouldBeTrue()
                counter.dispatches.get() shouldBe 0
                c.conn.readFully(3)
                c.pd.rg.isReady().shouldBeTrue() // still latched: nobody parked
                // nothing buffered: the wait consumes the stale readiness, re-checks, and parks
                val (waiting, counter2) = launchCounted { String(c.conn.readFully(2)) shouldBe "de" }
                waiting.isActive.shouldBeTrue()
                c.pd.rg.isReady().shouldBeFalse()
                c.pd.rg.hasWaiter().shouldBeTrue()
                c.send("de")
                waiting.join()
                counter2.dispatches.get() shouldBe 1
                c.pd.rg.hasWaiter().shouldBeFalse()
            }
        }
    }

    test("readiness that arrives between prepare and commit makes the park return at once instead of suspending") {
        coTest {
            withConn { c ->
                val rg = c.pd.rg
                // start from NIL: a fresh connection may hold a readiness latched by its first events
                if (!rg.prepare()) rg.finish()
                rg.toString() shouldBe "NIL"
                // the check runs after NIL -> WAIT; the poller's unblock landing right then (WAIT -> READY)
                // must turn the commit down, so the waiter does not park on a readiness already gone by
                val (job, counter) = launchCounted {
                    rg.park {
                        rg.unblockAndWake(true)
                        PollDesc.OK
                    }
                }
                job.isCompleted.shouldBeTrue()
                counter.dispatches.get() shouldBe 0
                rg.toString() shouldBe "NIL" // finish() consumed the latch
                // and a READY latched before the wait is consumed without parking
                rg.unblockAndWake(true)
                rg.isReady().shouldBeTrue()
                val (job2, counter2) = launchCounted { rg.park { PollDesc.OK } }
                job2.isCompleted.shouldBeTrue()
                counter2.dispatches.get() shouldBe 0
                rg.toString() shouldBe "NIL"
            }
        }
    }

    for (onPoller in listOf(false, true)) {
        // off the poller the reply can land between the coroutine's buffer check and its park (the
        // READY latch must catch it); resumed in place on the poller it cannot, but the path differs
        val where = if (onPoller) "resumed in place on the poller" else "on another thread"
        test("20,000 ping-pong round trips, each reply racing the next wait, never lose a wake-up ($where)") {
            coTest {
                withConn { c ->
                    val rounds = 20_000
                    val peer = launch(Dispatchers.IO) {
                        val inp = c.peer.getInputStream()
                        val out = c.peer.getOutputStream()
                        repeat(rounds) { i ->
                            val b = inp.read()
                            check(b == (i and 0x7f)) { "round $i: got $b" }
                            out.write(b)
                        }
                    }
                    withContext(if (onPoller) c.conn.dispatcher else Dispatchers.Default) {
                        repeat(rounds) { i ->
                            c.conn.output.writeByte((i and 0x7f).toByte())
                            c.conn.flush()
                            c.conn.readByte() shouldBe (i and 0x7f).toByte()
                        }
                    }
                    peer.join()
                    c.conn.connection.inputLen() shouldBe 0
                }
            }
        }
    }
})
