package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThanOrEqual
import io.kotest.matchers.shouldBe
import io.netpoll.buffer.BufferPool
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.openFds
import io.netpoll.coroutines.CoTestKit.openFilesLimit
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Semaphore
import kotlinx.coroutines.sync.withPermit
import kotlinx.coroutines.withContext
import java.net.InetSocketAddress
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration.Companion.seconds

/**
 * 10,000 concurrent connections, each handled by its own coroutine on a netpollServer, driven by
 * coroutine clients: all open at once, every byte of every echo checked, twice.
 */
class CoManyConnectionsTest : FunSpec({
    timeout = 120_000L

    test("10,000 concurrent connections, one handler coroutine each, all echo every byte correctly") {
        val wanted = 10_000
        val limit = openFilesLimit()
        val open = openFds()
        val spare = 1_000 // the JVM's own files, pollers, jars, and headroom
        val n = if (limit >= 2L * wanted + open + spare) wanted else ((limit - open - spare) / 2).toInt()
        if (n < wanted) {
            println("coroutines 10k: the open-files limit is $limit with $open open now; $wanted connections need " +
                "${2 * wanted} fds in this JVM (client and server ends) plus $spare spare, and this test raises nothing: " +
                "scaling down to $n connections")
        }
        check(n >= 1_000) { "open-files limit $limit leaves room for only $n connections: too few to mean anything" }

        coTest(timeout = 90.seconds) {
            val pool = BufferPool.defaultPool() // the server DSL and the client use it
            awaitTrue("no pooled memory in use before") { pool.bytesInUse() == 0L }
            val handlers = AtomicInteger()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 2
                handle { conn ->
                    handlers.incrementAndGet()
                    // framed echo: 4-byte big-endian length, payload
                    while (conn.awaitReadable(4)) {
                        val len = conn.readInt()
                        val payload = conn.next(len)
                        conn.output.writeInt(len)
                        conn.output.writeBuffer(payload)
                        conn.release()
                        conn.flush()
                    }
                }
            }
            val client = netpollClient { pollers = 2 }
            val t0 = System.nanoTime()
            try {
                val port = (server.address as InetSocketAddress).port
                val connected = AtomicInteger()
                val echoed = AtomicInteger()
                val badBytes = AtomicLong()
                val allConnected = CompletableDeferred<Unit>()
                val round1Done = CompletableDeferred<Unit>()
                val release = CompletableDeferred<Unit>()
                val dialing = Semaphore(256)
                coroutineScope {
                    repeat(n) { i ->
                        launch(Dispatchers.Default) {
                            val c = dialing.withPermit { client.dial("tcp", "127.0.0.1:$port", timeout = 30.seconds) }
                            c.use {
                                if (connected.incrementAndGet() == n) allConnected.complete(Unit)
                                allConnected.await() // every connection is open at once from here
                                withContext(c.dispatcher) {
                                    for (round in 1..2) {
                                        val len = 16 + (i * 7 + round * 13) % 240
                                        val seed = i.toLong() * 1_000 + round
                                        c.output.writeInt(len)
                                        c.output.writeBinary(ByteArray(len) { CoTestKit.patternByte(seed + it) })
                                        c.flush()
                                        c.readInt() shouldBe len
                                        val back = c.readFully(len)
                                        for (k in 0 until len) if (back[k] != CoTestKit.patternByte(seed + k)) badBytes.incrementAndGet()
                                        if (round == 1) {
                                            if (echoed.incrementAndGet() == n) round1Done.complete(Unit)
                                            round1Done.await()
                                        }
                                    }
                                }
                                echoed.incrementAndGet()
                                release.await()
                            }
                        }
                    }
                    allConnected.await()
                    awaitTrue("the server holds every connection at once (has ${server.connections})", ms = 30_000) {
                        server.connections == n
                    }
                    round1Done.await()
                    awaitTrue("round 2 done on every connection", ms = 30_000) { echoed.get() == 2 * n }
                    server.connections shouldBe n
                    release.complete(Unit)
                }
                badBytes.get() shouldBe 0L
                handlers.get() shouldBe n
                connected.get() shouldBe n
                awaitTrue("the server closed every connection after the clients left", ms = 30_000) { server.connections == 0 }
                awaitTrue("every pooled byte returned (${pool.bytesInUse()} in use)") { pool.bytesInUse() == 0L }
            } finally {
                client.close()
                server.shutdown(5.seconds)
            }
            println("coroutines 10k: $n connections, 2 checked echoes each, ${(System.nanoTime() - t0) / 1_000_000} ms")
            handlers.get() shouldBeGreaterThanOrEqual n
        }
    }
})
