package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.core.test.Enabled
import io.kotest.matchers.shouldBe
import io.netpoll.buffer.BufferPool
import io.netpoll.conn.ConnTestKit.Exec
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.childClasspath
import io.netpoll.conn.ConnTestKit.javaBin
import io.netpoll.conn.ConnTestKit.openFilesLimit
import io.netpoll.conn.ConnTestKit.server
import java.io.BufferedReader
import java.io.InputStreamReader
import java.util.concurrent.TimeUnit

/**
 * 10,000 concurrent connections echo correctly. Both ends in this JVM need about 20,000 fds plus
 * the JVM's own. With a lower limit (and no right to raise it) the clients run in a child JVM,
 * which has a limit of its own; under 10,500 even that cannot work and the test is skipped.
 */
class TenThousandConnectionsTest : FunSpec({
    val n = 10_000
    val limit = openFilesLimit()
    val inProcess = limit >= 25_000
    val skipReason = if (limit < 10_500) "open-files limit is $limit; 10,000 connections need at least 10,500 per process" else null
    val deadline = { System.nanoTime() + TimeUnit.SECONDS.toNanos(60) }

    test("10,000 concurrent connections all echo correctly")
        .config(enabledOrReasonIf = { if (skipReason == null) Enabled.enabled else Enabled.disabled(skipReason).also { println("skipped: $skipReason") } }) {
            val pool = BufferPool(8L shl 20)
            val t0 = System.nanoTime()
            server(Exec.INLINE, pool = pool) {
                pollers(2)
                onRequest(ConnTestKit::framedEcho)
            }.use { srv ->
                if (inProcess) {
                    println("10k: open-files limit $limit: clients in this JVM")
                    ManyClients(srv.port, n).use { m ->
                        m.connectAll(deadline()) shouldBe n
                        awaitTrue("server registered every connection") { srv.loop.connections() == n }
                        m.round(1, deadline()) shouldBe n
                        m.round(2, deadline()) shouldBe n
                    }
                } else {
                    println("10k: open-files limit $limit is under 25,000 and cannot be raised here: clients in a child JVM")
                    val child = ProcessBuilder(javaBin(), "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:+UseSerialGC", "-cp", childClasspath(),
                        "io.netpoll.conn.ManyClients", srv.port.toString(), n.toString())
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start()
                    try {
                        val out = BufferedReader(InputStreamReader(child.inputStream))
                        out.readLine() shouldBe "CONNECTED $n"
                        out.readLine() shouldBe "ROUND1 $n"
                        // all 10,000 are open at once on the server
                        awaitTrue("server holds every connection") { srv.loop.connections() == n }
                        child.outputStream.write("go\n".toByteArray())
                        child.outputStream.flush()
                        out.readLine() shouldBe "ROUND2 $n"
                        child.outputStream.write("close\n".toByteArray())
                        child.outputStream.flush()
                        child.waitFor(30, TimeUnit.SECONDS) shouldBe true
                        child.exitValue() shouldBe 0
                    } finally {
                        if (child.isAlive) {
                            child.destroyForcibly()
                            child.waitFor(5, TimeUnit.SECONDS)
                        }
                    }
                }
                awaitTrue("every connection closed after the clients left", ms = 30_000) { srv.loop.connections() == 0 }
                awaitTrue("buffers returned") { pool.bytesInUse() == 0L }
            }
            println("10k: took ${TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)} ms")
        }
})
