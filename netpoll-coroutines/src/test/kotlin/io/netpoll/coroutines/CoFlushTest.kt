package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.netpoll.coroutines.CoTestKit.awaitPendingTimers
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.flushUntilSuspended
import io.netpoll.coroutines.CoTestKit.launchNow
import io.netpoll.coroutines.CoTestKit.pattern
import io.netpoll.coroutines.CoTestKit.readPattern
import io.netpoll.coroutines.CoTestKit.withConn
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.InetSocketAddress
import java.net.Socket
import kotlin.time.Duration.Companion.seconds

/**
 * Write backpressure: flush suspends (never blocks) while the socket is full and completes once the
 * peer reads, every byte delivered once and in order; the write-queue limit; shutdownOutput after a
 * partial flush; a handler suspended in flush does not hold up its poller. (Write deadlines ending a
 * stuck flush: [CoDeadlineTest].)
 */
class CoFlushTest : FunSpec({
    timeout = 60_000L

    test("flush suspends while the peer does not read and completes once it reads; every byte arrives once, in order") {
        coTest {
            withConn(peerReceiveBuffer = 4096) { c ->
                c.conn.writeTimeout = 30.seconds // every wait arms a timer: the flush must disarm it when done
                val (job, written) = flushUntilSuspended(c)
                written shouldBeGreaterThan (1L shl 20)
                job.isActive.shouldBeTrue()
                c.conn.connection.sender().room.hasWaiter().shouldBeTrue() // suspended, not blocking a thread
                c.conn.connection.sender().idle().shouldBeFalse()
                val reader = async(Dispatchers.IO) { readPattern(c.peer.getInputStream(), written) }
                job.join() // completes once the peer has read enough
                c.conn.connection.sender().room.hasWaiter().shouldBeFalse()
                reader.await() shouldBe 0L
                awaitTrue("the queue drained") { c.conn.connection.sender().idle() }
                c.conn.connection.queuedOutput() shouldBe 0
                awaitTrue("the output's memory went back to the pool") { c.pool.bytesInUse() == 0L }
                awaitPendingTimers(c.poller, 0) shouldBe 0 // no write-timeout timer left behind
                // and the next flush goes straight through
                c.conn.writeAndFlush("done".toByteArray())
                String(CoTestKit.readFully(c.peer.getInputStream(), 4)) shouldBe "done"
            }
        }
    }

    test("with a write-queue limit flush returns once at most the limit is queued; shutdownOutput sends the rest, then EOF") {
        coTest {
            val limit = 2L shl 20
            withConn(peerReceiveBuffer = 4096, writeQueueLimit = limit) { c ->
                val total = 24 shl 20
                c.conn.output.writeBinary(pattern(0, total))
                val flush = launchNow { c.conn.flush() }
                flush.isActive.shouldBeTrue() // 24 MiB cannot be within 2 MiB of sent yet
                val reader = async(Dispatchers.IO) {
                    val bad = readPattern(c.peer.getInputStream(), total.toLong())
                    bad to c.peer.getInputStream().read()
                }
                flush.join()
                c.conn.connection.queuedOutput().toLong() shouldBeLessThanOrEqual limit
                c.conn.shutdownOutput() // waits until everything queued was sent, then FIN
                c.conn.connection.sender().idle().shouldBeTrue()
                val (bad, eof) = reader.await()
                bad shouldBe 0L
                eof shouldBe -1
                c.conn.isActive.shouldBeTrue() // reading goes on after a half-close
                c.send("still here")
                c.conn.readString(10) shouldBe "still here"
            }
        }
    }

    test("a shutdownOutput cancelled while it waits for the queue leaves the output open: what was queued and a later write still reach the peer, and a second shutdownOutput sends EOF after them") {
        coTest {
            withConn(peerReceiveBuffer = 4096) { c ->
                val total = 16 shl 20
                c.conn.output.writeBinary(pattern(0, total))
                val shut = launchNow { c.conn.shutdownOutput() }
                shut.isActive.shouldBeTrue() // 16 MiB cannot all be sent while the peer does not read
                shut.cancelAndJoin()
                val reader = async(Dispatchers.IO) {
                    val bad = readPattern(c.peer.getInputStream(), total.toLong())
                    Triple(bad, String(CoTestKit.readFully(c.peer.getInputStream(), 8)), c.peer.getInputStream().read())
                }
                c.conn.writeAndFlush("more".toByteArray()) // waits while the peer reads: now everything is sent
                c.conn.writeAndFlush("last".toByteArray()) // the output is still open: after SHUT_WR this fails (EPIPE)
                c.conn.shutdownOutput()
                reader.await() shouldBe Triple(0L, "morelast", -1)
            }
        }
    }

    test("a server handler suspended in flush on its poller thread does not hold up the other connections of that poller") {
        coTest {
            val total = 16 shl 20
            val floodStarted = CompletableDeferred<Unit>()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1 // every connection on the one poller thread
                handle { conn ->
                    while (true) {
                        val line = conn.readLine() ?: break
                        if (line == "flood") {
                            conn.output.writeBinary(pattern(0, total))
                            floodStarted.complete(Unit)
                            conn.flush() // the client does not read: this suspends
                            break
                        }
                        conn.output.writeString("$line\n")
                        conn.flush()
                    }
                }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                withContext(Dispatchers.IO) {
                    Socket().use { flooded ->
                        flooded.receiveBufferSize = 4096
                        flooded.connect(InetSocketAddress("127.0.0.1", port), CoTestKit.WAIT_MS.toInt())
                        flooded.soTimeout = CoTestKit.WAIT_MS.toInt()
                        flooded.getOutputStream().write("flood\n".toByteArray())
                        kotlinx.coroutines.withTimeout(CoTestKit.WAIT_MS) { floodStarted.await() }
                        Socket("127.0.0.1", port).use { other ->
                            other.soTimeout = CoTestKit.WAIT_MS.toInt()
                            val inp = BufferedReader(InputStreamReader(other.getInputStream()))
                            repeat(3) { i ->
                                other.getOutputStream().write("ping $i\n".toByteArray())
                                inp.readLine() shouldBe "ping $i"
                            }
                        }
                        readPattern(flooded.getInputStream(), total.toLong()) shouldBe 0L
                        flooded.getInputStream().read() shouldBe -1 // the handler returned: the server closed
                    }
                }
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("a handler that closes as soon as a flush over the write-queue limit returns gets its connection destroyed") {
        // The send task's progress resumes the flush in place on the poller, inside the task: the
        // handler's close then comes before the task parks again, and found no waiter to wake.
        coTest {
            val rounds = 8
            val destroyed = java.util.concurrent.CountDownLatch(rounds)
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                writeQueueLimit = 1L shl 20 // crossed by a partial write, with much still queued
                handle { conn ->
                    conn.connection.addCloseCallback { destroyed.countDown() }
                    conn.output.writeBinary(pattern(0, 4 shl 20))
                    conn.flush() // returns once at most 1 MiB is queued
                    conn.close()
                }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                withContext(Dispatchers.IO) {
                    repeat(rounds) {
                        Socket().use { s ->
                            s.receiveBufferSize = 4096
                            s.connect(InetSocketAddress("127.0.0.1", port))
                            val buf = ByteArray(512)
                            try {
                                while (s.getInputStream().read(buf) >= 0) Unit // slowly: many partial writes
                            } catch (_: java.io.IOException) {
                                // the close discarded what was queued: a reset is fine here
                            }
                        }
                    }
                    destroyed.await(20, java.util.concurrent.TimeUnit.SECONDS).shouldBeTrue()
                }
                // close callbacks run newest first: the server's own (which drops the connection
                // from its count) may still be running after ours
                awaitTrue("the server let go of every connection") { server.connections == 0 }
            } finally {
                server.shutdown(grace = 1.seconds)
            }
        }
    }

    test("a flush on the connection's poller waits for room in the reusable slot, not a new waiter per wait") {
        coTest {
            withConn(peerReceiveBuffer = 4096) { c ->
                val job = launch(c.conn.dispatcher) {
                    repeat(64) {
                        c.conn.output.writeBinary(pattern(0, 1 shl 20))
                        c.conn.flush()
                    }
                }
                awaitTrue("the flush parked in the slot") {
                    CoTestKit.onPoller(c.poller) { c.conn.connection.sender().room.toString() }.startsWith("ParkSlot")
                }
                job.cancelAndJoin()
            }
        }
    }
})
