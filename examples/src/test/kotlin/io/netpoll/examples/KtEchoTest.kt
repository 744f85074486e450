package io.netpoll.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.examples.KtEcho.server
import io.netpoll.examples.support.Ending
import io.netpoll.examples.support.rawSocket
import io.netpoll.examples.support.readToEnd
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import java.net.InetSocketAddress
import java.nio.ByteBuffer
import kotlin.time.Duration.Companion.seconds

/** The framed echo on the Kotlin DSL ([KtEcho]): what framed-echo does with a bad length, it does too. */
class KtEchoTest : FunSpec({
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val maxFrame = 1 shl 20
    val server = scope.server("127.0.0.1:0", maxFrame)
    val port = (server.address as InetSocketAddress).port
    afterSpec {
        runBlocking { server.shutdown(grace = 2.seconds) }
        scope.cancel()
    }

    fun frame(payload: ByteArray): ByteArray = ByteBuffer.allocate(4 + payload.size).putInt(payload.size).put(payload).array()

    test("the frames before a length over the limit, or negative, are echoed, then the connection closes") {
        for (length in listOf(maxFrame + 1, -1)) {
            rawSocket(port).use { s ->
                s.getOutputStream().write(frame("ok".toByteArray()) + ByteBuffer.allocate(4).putInt(length).array() + "junk".toByteArray())
                val (bytes, ending) = readToEnd(s)
                bytes.contentEquals(frame("ok".toByteArray())) shouldBe true
                ending shouldBe Ending.EOF
            }
        }
    }
})
