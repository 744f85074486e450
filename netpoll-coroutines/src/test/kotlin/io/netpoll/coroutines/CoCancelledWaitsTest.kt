package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.netpoll.coroutines.CoTestKit.awaitPendingTimers
import io.netpoll.coroutines.CoTestKit.QuietCancellation
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.launchNow
import io.netpoll.coroutines.CoTestKit.usedHeapAfterGc
import io.netpoll.coroutines.CoTestKit.withConn
import kotlinx.coroutines.cancelAndJoin
import kotlin.time.Duration.Companion.seconds

/**
 * 100,000 reads that suspend and are cancelled leave nothing behind: no waiter in the read word, no
 * timer on the poller's wheel, no pooled memory, no heap, and the connection still works.
 */
class CoCancelledWaitsTest : FunSpec({
    timeout = 120_000L

    test("100,000 cancelled waits leave nothing behind: no waiter, no timers, no pool bytes, no heap growth, the connection still works") {
        coTest(timeout = 60.seconds) {
            withConn { c ->
                val conn = c.conn
                // a read timeout makes every wait arm a timer on the poller's wheel: a cancelled wait must disarm it
                conn.readTimeout = 30.seconds
                // before any wait: a fresh dialed connection without timeouts has no live timer (the
                // dial's deadline timer was cancelled and leaves the wheel within one revolution)
                val timers0 = awaitPendingTimers(c.poller, 0)
                timers0 shouldBe 0
                // three bytes buffered: the waits need more (4 for readInt, a '\n' for readLine)
                c.send("abc")
                c.awaitBuffered(3)
                val reads: List<suspend () -> Unit> = listOf(
                    { conn.awaitReadable(4) },
                    { conn.readInt() },
                    { conn.readLine() },
                    { conn.next(4) },
                    { conn.readFully(10) },
                )
                // warm up (class loading, JIT, pool caches), then take the start values
                repeat(2_000) { i -> launchNow { reads[i % reads.size]() }.cancelAndJoin() }
                val pool0 = c.pool.bytesInUse()
                val heap0 = usedHeapAfterGc()

                val n = 100_000
                val t0 = System.nanoTime()
                var stillRunning = 0
                for (i in 0 until n) {
                    val job = launchNow { reads[i % reads.size]() }
                    if (job.isActive) stillRunning++ // it really suspended
                    job.cancel(QuietCancellation()) // job.cancel(), without debug mode's stack-trace copies
                    job.join()
                }
                val ms = (System.nanoTime() - t0) / 1_000_000
                stillRunning shouldBe n

                val rg = c.pd.rg
                rg.hasWaiter().shouldBeFalse()
                rg.isReady().shouldBeFalse()
                rg.toString() shouldBe "NIL"
                conn.connection.inputLen() shouldBe 3 // nothing consumed
                // cancelled timers leave the wheel when it next passes their bucket (within one revolution)
                val timers1 = awaitPendingTimers(c.poller, timers0)
                val heap1 = usedHeapAfterGc()
                val pool1 = c.pool.bytesInUse()
                println("100k cancelled waits: $ms ms; pending timers $timers0 -> $timers1; pool bytes $pool0 -> $pool1; heap ${heap0 / 1024} KiB -> ${heap1 / 1024} KiB")
                timers1 shouldBe timers0
                pool1 shouldBe pool0
                // one retained waiter, continuation or timer per wait would be well over 10 MiB
                (heap1 - heap0) shouldBeLessThan (4L shl 20)

                // still works: the same bytes, then a full exchange
                c.send("d\n")
                conn.readLine() shouldBe "abcd"
                conn.writeAndFlush("ok".toByteArray())
                String(CoTestKit.readFully(c.peer.getInputStream(), 2)) shouldBe "ok"
                conn.isActive.shouldBeTrue()
            }
        }
    }
})
