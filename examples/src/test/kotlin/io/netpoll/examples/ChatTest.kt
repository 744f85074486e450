package io.netpoll.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.examples.Chat.server
import io.netpoll.examples.support.eventually
import io.netpoll.examples.support.rawSocket
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import java.net.InetSocketAddress
import java.net.Socket
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlin.time.Duration.Companion.seconds

/** The line chat ([Chat]): broadcast to every member, and a member too slow for the room is let go. */
class ChatTest : FunSpec({
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val server = scope.server("127.0.0.1:0")
    val port = (server.address as InetSocketAddress).port
    afterSpec {
        runBlocking { server.shutdown(grace = 2.seconds) }
        scope.cancel()
    }

    /** Reads [s]'s lines on a daemon thread until EOF or an error, handing each to [onLine]. */
    fun collect(s: Socket, onLine: (String) -> Unit) {
        thread(isDaemon = true) { runCatching { s.getInputStream().bufferedReader().forEachLine(onLine) } }
    }

    test("a client that stops reading is disconnected once its queue overflows, and the room hears it left") {
        val slow = Socket().apply { receiveBufferSize = 4096; connect(InetSocketAddress("127.0.0.1", port), 5000) }
        slow.use {
            slow.soTimeout = 10_000
            // its own join, the last line it reads: "* 1 joined (1 here)"
            val slowId = slow.getInputStream().bufferedReader().readLine().removePrefix("* ").substringBefore(' ').toInt()
            rawSocket(port, readTimeout = 20.seconds).use { talker ->
                val talkerId = AtomicInteger()
                val echoed = AtomicInteger()
                val slowLeft = AtomicBoolean()
                collect(talker) { l ->
                    if (l.endsWith("joined (2 here)")) talkerId.set(l.removePrefix("* ").substringBefore(' ').toInt())
                    if (talkerId.get() != 0 && l.startsWith("${talkerId.get()}: ")) echoed.incrementAndGet()
                    if (l == "* $slowId left") slowLeft.set(true)
                }
                eventually(10.seconds, "the talker joined") { talkerId.get() != 0 }
                val line = ("x".repeat(200) + "\n").toByteArray()
                val out = talker.getOutputStream()
                var sent = 0
                // the slow client reads no more: its socket, then its outbox (256 lines) fill up. The
                // talker sends in batches of 100 and waits for its own lines to come back, so that its
                // own outbox never holds 256 (the server reads its input in one go, far faster)
                while (sent < 100_000 && !slowLeft.get()) {
                    repeat(100) { out.write(line) }
                    sent += 100
                    eventually(10.seconds, "the talker's lines came back") { echoed.get() == sent || slowLeft.get() }
                }
                eventually(20.seconds, "the slow client was let go") { slowLeft.get() }
                // and its connection was closed: reading what reached it ends at EOF (or a reset)
                slow.soTimeout = 20_000
                val input = slow.getInputStream()
                val buf = ByteArray(64 shl 10)
                var ended: Boolean? = null // true: EOF or a reset; false: still open after 20 s
                while (ended == null) {
                    ended = try {
                        if (input.read(buf) < 0) true else null
                    } catch (e: java.net.SocketTimeoutException) {
                        false
                    } catch (e: java.io.IOException) {
                        true
                    }
                }
                ended shouldBe true
            }
        }
    }
})
