package io.netpoll.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.examples.support.Child
import io.netpoll.examples.support.javaExecutable
import io.netpoll.examples.support.rawSocket
import io.netpoll.examples.support.readHttpResponse
import java.nio.ByteBuffer
import kotlin.time.Duration.Companion.seconds

/**
 * `java -jar netpoll-examples.jar http|resp|framed-echo PORT`: the entry points ([Main]) run as child
 * processes (on the test classpath, since the jar is packaged after the tests), print their address and
 * serve it until killed.
 */
class EntryPointsTest : FunSpec({
    fun start(vararg args: String) = Child(
        listOf(
            javaExecutable(), "-XX:+IgnoreUnrecognizedVMOptions", "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
            "-cp", System.getProperty("java.class.path"), "io.netpoll.examples.Main", *args,
        ),
    )

    fun port(c: Child, name: String): Int =
        c.awaitLine(Regex("""$name listening on /?127\.0\.0\.1:(\d+)"""), 30.seconds).groupValues[1].toInt()

    test("http PORT serves GET /plaintext") {
        start("http", "0").use { c ->
            rawSocket(port(c, "http"), 30.seconds).use { s ->
                s.getOutputStream().write("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n".toByteArray())
                readHttpResponse(s.getInputStream()).text shouldBe "Hello, World!"
            }
        }
    }

    test("resp PORT answers PING") {
        start("resp", "0").use { c ->
            rawSocket(port(c, "resp"), 30.seconds).use { s ->
                s.getOutputStream().write("PING\r\n".toByteArray())
                String(s.getInputStream().readNBytes(7)) shouldBe "+PONG\r\n"
            }
        }
    }

    test("framed-echo PORT echoes a frame") {
        start("framed-echo", "0").use { c ->
            rawSocket(port(c, "framed-echo"), 30.seconds).use { s ->
                val f = ByteBuffer.allocate(9).putInt(5).put("hello".toByteArray()).array()
                s.getOutputStream().write(f)
                s.getInputStream().readNBytes(9).contentEquals(f) shouldBe true
            }
        }
    }
})
