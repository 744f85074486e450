package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.cancel
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.io.DataInputStream
import java.net.InetSocketAddress
import java.net.Socket
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.RejectedExecutionException
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** How a handler's end closes its connection, and a shutdown started from a handler's finally. */
class CoServerEndsTest : FunSpec({
    timeout = 90_000L

    /** A server on 127.0.0.1:0 with one poller, configured further by [configure]. */
    fun CoroutineScope.onePollerServer(configure: NetpollServerBuilder.() -> Unit): NetpollServer = netpollServer {
        listen("tcp", "127.0.0.1:0")
        pollers = 1
        configure()
    }

    fun socketTo(server: NetpollServer, receiveBuffer: Int = 0): Socket = Socket().apply {
        if (receiveBuffer > 0) receiveBufferSize = receiveBuffer
        connect(InetSocketAddress("127.0.0.1", (server.address as InetSocketAddress).port), CoTestKit.WAIT_MS.toInt())
        soTimeout = CoTestKit.WAIT_MS.toInt()
    }

    for (own in listOf(false, true)) test("a handler that returns right after a flush that left bytes queued (writeQueueLimit) has them all sent before the close (${if (own) "on Dispatchers.Default" else "on its poller"})") {
        coTest {
            val size = 16 shl 20 // far more than the kernel buffers on loopback
            val server = onePollerServer {
                if (own) dispatcher = Dispatchers.Default
                writeQueueLimit = 64L shl 20 // more than the answer: the flush returns with what the kernel did not take
                handle { conn ->
                    conn.readLine()
                    conn.output.writeBinary(ByteArray(size) { (it % 251).toByte() })
                    conn.flush() // returns at once, most of it still queued: the peer is not reading yet
                }
            }
            try {
                withContext(Dispatchers.IO) {
                    socketTo(server, receiveBuffer = 64 * 1024).use { s ->
                        s.getOutputStream().write("go\n".toByteArray())
                        Thread.sleep(300) // the socket fills; the handler returns with bytes queued
                        val got = DataInputStream(s.getInputStream()).readAllBytes()
                        got.size shouldBe size // before: what the kernel had taken, then a clean end
                        got.withIndex().all { (i, b) -> b == (i % 251).toByte() }.shouldBeTrue()
                    }
                }
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("a handler busy when the shutdown starts that then goes back to an idle read is closed then, not waited for until the grace ends") {
        coTest {
            val working = CompletableDeferred<Unit>()
            val server = onePollerServer {
                handle { conn ->
                    while (true) {
                        val line = conn.readLine() ?: break
                        working.complete(Unit)
                        kotlinx.coroutines.delay(2000) // busy when the shutdown looks first, even on a slow machine
                        conn.output.writeString("done $line\n")
                        conn.flush()
                    }
                }
            }
            withContext(Dispatchers.IO) {
                socketTo(server).use { s ->
                    s.getOutputStream().write("a\n".toByteArray())
                    working.await()
                    val r = withTimeout(10.seconds) { server.shutdown(60.seconds) } // before: all 60 s, then forced
                    r.forced() shouldBe 0
                    r.drained() shouldBe 1
                    r.closedIdle() shouldBe 0
                    val inp = s.getInputStream().bufferedReader()
                    inp.readLine() shouldBe "done a"
                    inp.read() shouldBe -1
                }
            }
        }
    }

    test("a returned handler's bytes the peer never takes are waited for until the grace ends, then counted as forced") {
        coTest {
            val returned = CompletableDeferred<Unit>()
            val server = onePollerServer {
                writeQueueLimit = 64L shl 20
                handle { conn ->
                    conn.readLine()
                    conn.output.writeBinary(ByteArray(16 shl 20))
                    conn.flush() // returns at once, most of it queued
                    returned.complete(Unit)
                }
            }
            withContext(Dispatchers.IO) {
                socketTo(server, receiveBuffer = 64 * 1024).use { s ->
                    s.getOutputStream().write("go\n".toByteArray())
                    returned.await() // and the peer reads nothing
                    val r = withTimeout(10.seconds) { server.shutdown(500.milliseconds) }
                    r.forced() shouldBe 1 // before: 0, and the bytes dropped as if it had drained
                    r.drained() shouldBe 0
                    r.closedIdle() shouldBe 0
                }
            }
        }
    }

    test("shutdown called in a handler's finally under withContext(NonCancellable) does not wait for that handler") {
        coTest {
            val report = CompletableDeferred<io.netpoll.ShutdownReport>()
            lateinit var server: NetpollServer
            val serverScope = CoroutineScope(Job()) // its own: a hang fails on the timeout below
            server = serverScope.onePollerServer {
                handle { conn ->
                    try {
                        conn.readLine()
                    } finally {
                        // the usual way to call a suspend function in a finally; its job's parent
                        // chain no longer leads to the handler
                        withContext(NonCancellable) { report.complete(server.shutdown(30.seconds)) }
                    }
                }
            }
            withContext(Dispatchers.IO) {
                socketTo(server).use { s ->
                    s.getOutputStream().write("bye\n".toByteArray())
                    val r = withTimeout(10.seconds) { report.await() } // before: the whole 30 s grace, then forced
                    r.forced() shouldBe 0
                    s.getInputStream().read() shouldBe -1
                }
            }
            serverScope.cancel()
        }
    }

    test("a dispatcher that refuses a handler: its connection closes and onError hears of the refusal") {
        coTest {
            val rejecting = java.util.concurrent.Executors.newSingleThreadExecutor().also { it.shutdown() }
            val errors = ConcurrentLinkedQueue<Throwable>()
            val server = onePollerServer {
                dispatcher = rejecting.asCoroutineDispatcher()
                onError = { _, e -> errors += e }
                handle { }
            }
            try {
                withContext(Dispatchers.IO) {
                    socketTo(server).use { s -> s.getInputStream().read() shouldBe -1 }
                }
                awaitTrue("onError heard of it") { errors.isNotEmpty() } // before: nothing, anywhere
                generateSequence(errors.peek()) { it.cause }.any { it is RejectedExecutionException }.shouldBeTrue()
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }
})
