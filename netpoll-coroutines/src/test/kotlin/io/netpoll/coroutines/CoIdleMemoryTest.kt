package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.netpoll.buffer.BufferPool
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.openFds
import io.netpoll.coroutines.CoTestKit.openFilesLimit
import io.netpoll.coroutines.CoTestKit.usedHeapAfterGc
import io.netpoll.sys.Linux
import io.netpoll.sys.Sockets
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.net.InetSocketAddress
import java.net.Socket
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.seconds

/**
 * What an idle server connection costs: its handler coroutine suspended in a read, its connection
 * objects, and no pooled buffer memory at all. The clients are bare sockets (an int each) so that
 * only the server's side is measured.
 */
class CoIdleMemoryTest : FunSpec({
    timeout = 120_000L

    test("an idle connection with its handler suspended in a read costs a few KiB of heap and no buffer memory") {
        val limit = openFilesLimit()
        val wanted = 5_000
        val k = minOf(wanted.toLong(), (limit - openFds() - 1_000) / 2).toInt()
        if (k < wanted) println("coroutines idle memory: open-files limit $limit: measuring $k connections instead of $wanted")
        check(k >= 500) { "open-files limit $limit leaves room for only $k connections" }

        coTest(timeout = 90.seconds) {
            val pool = BufferPool.defaultPool() // the server DSL's
            val parked = AtomicInteger()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 2
                handle { conn ->
                    parked.incrementAndGet()
                    while (true) {
                        val line = conn.readLine() ?: break // idle: suspended here
                        conn.output.writeString("$line\n")
                        conn.flush()
                    }
                }
            }
            val address = server.address as InetSocketAddress
            val fds = IntArray(k) { -1 }
            try {
                // warm up every path an idle connection takes (classes, pollers' tables, pool caches)
                withContext(Dispatchers.IO) {
                    repeat(200) {
                        Socket(address.address, address.port).use { s ->
                            s.soTimeout = CoTestKit.WAIT_MS.toInt()
                            s.getOutputStream().write("warm\n".toByteArray())
                            s.getInputStream().read()
                        }
                    }
                }
                awaitTrue("warm-up connections closed") { server.connections == 0 }
                awaitTrue("no pooled memory in use with no connection (${pool.bytesInUse()})") { pool.bytesInUse() == 0L }
                parked.set(0)
                val heap0 = usedHeapAfterGc()

                for (i in 0 until k) {
                    fds[i] = Sockets.socket(Linux.AF_INET)
                    Sockets.connect(fds[i], address) // non-blocking: the kernel completes it
                }
                awaitTrue("the server accepted all $k (has ${server.connections})", ms = 30_000) { server.connections == k }
                awaitTrue("every handler is running (${parked.get()})", ms = 30_000) { parked.get() == k }
                val heap1 = usedHeapAfterGc()
                val inUse = pool.bytesInUse()
                val perConnection = (heap1 - heap0) / k
                println("coroutines idle connection memory: $perConnection bytes heap per connection ($k connections); " +
                    "buffer pool bytes in use: $inUse")
                inUse shouldBe 0L // an idle connection holds no buffer memory
                perConnection shouldBeLessThan (16L shl 10)
                server.connections shouldBe k
            } finally {
                fds.filter { it >= 0 }.forEach { Sockets.close(it) }
                awaitTrue("every connection closed after its client", ms = 30_000) { server.connections == 0 }
                server.shutdown(5.seconds)
            }
        }
    }
})
