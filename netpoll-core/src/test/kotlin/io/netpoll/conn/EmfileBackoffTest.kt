package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.childClasspath
import io.netpoll.conn.ConnTestKit.javaBin
import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.InetSocketAddress
import java.net.Socket
import java.util.concurrent.TimeUnit

/**
 * Out of file descriptors: a child JVM limited to 64 fds serves an echo event loop; the parent
 * opens more connections than it can accept. The acceptor must back off (one log line for the
 * episode, almost no CPU), keep the process alive, and accept again once fds are free.
 */
class EmfileBackoffTest : FunSpec({
    /** utime + stime of [pid], in clock ticks. */
    fun cpuTicks(pid: Long): Long {
        val stat = File("/proc/$pid/stat").readText()
        val fields = stat.substring(stat.lastIndexOf(')') + 2).split(' ')
        return fields[11].toLong() + fields[12].toLong() // fields 14 and 15 of the full line
    }

    fun echoOnce(port: Int, msg: String): String =
        Socket().use { s ->
            s.connect(InetSocketAddress("127.0.0.1", port), 2000)
            s.soTimeout = 3000
            s.getOutputStream().write(msg.toByteArray())
            String(ConnTestKit.readFully(s.getInputStream(), msg.length))
        }

    // Logging initialised: the episode's message must appear exactly once. Not initialised: the first
    // log call needs a file (JUL loads time-zone data lazily) and fails with an Error while out of
    // fds; the acceptor must survive that too.
    for (logAtStart in listOf(true, false)) {
    val variant = if (logAtStart) "logging initialised" else "logging not yet initialised"
    test("when out of fds the acceptor backs off quietly and serves again once fds are free ($variant)") {
        val stderr = File.createTempFile("netpoll-emfile", ".log")
        val cmd = "ulimit -n 64 && exec '${javaBin()}' --enable-native-access=ALL-UNNAMED -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 " +
            "-cp '${childClasspath()}' io.netpoll.conn.EchoServerMain" + if (logAtStart) " log-at-start" else ""
        val child = ProcessBuilder("bash", "-c", cmd)
            .redirectError(stderr)
            .start()
        val flood = ArrayList<Socket>()
        try {
            val out = BufferedReader(InputStreamReader(child.inputStream))
            val portLine = out.readLine() ?: error("child printed nothing; stderr: ${stderr.readText()}")
            val port = portLine.removePrefix("PORT ").toInt()
            println("emfile: child ${child.pid()} on port $port, ${out.readLine()}")
            echoOnce(port, "before") shouldBe "before"

            // more connections than the child has fds: the kernel completes them all (backlog),
            // the child accepts until EMFILE
            repeat(150) {
                val s = Socket()
                s.connect(InetSocketAddress("127.0.0.1", port), 2000)
                s.soTimeout = 3000
                flood.add(s)
            }
            // an early connection was accepted and is served
            flood[0].getOutputStream().write("x".toByteArray())
            flood[0].getInputStream().read() shouldBe 'x'.code
            if (logAtStart) {
                awaitTrue("the child logs that it is out of fds") { stderr.readText().contains("EMFILE") }
            }
            Thread.sleep(if (logAtStart) 500L else 1500L) // let the back-off reach a few retries
            val before = cpuTicks(child.pid())
            Thread.sleep(4000)
            val used = cpuTicks(child.pid()) - before
            println("emfile: child used $used ticks of CPU over 4 s while out of fds")
            used shouldBeLessThan 100L // a spinning acceptor would use about 400 (one core); 4 s spread the child's JIT and GC
            child.isAlive.shouldBeTrue()
            val log = stderr.readLines()
            println("emfile: child stderr so far:\n" + log.joinToString("\n") { "  | $it" }.take(2000))
            val pauses = log.count { it.contains("pausing accepts") } // once for the episode, not per retry
            if (logAtStart) pauses shouldBe 1 else (pauses <= 1).shouldBeTrue()
            log.none { it.contains("Exception in thread") }.shouldBeTrue() // no poller thread died

            flood.forEach { it.close() }
            flood.clear()
            // the child accepts (and closes) the abandoned connections, then a new one is served
            var answer: String? = null
            awaitTrue("a new connection is served again") {
                answer = try {
                    echoOnce(port, "after")
                } catch (e: Exception) {
                    null
                }
                answer == "after"
            }
            if (logAtStart) awaitTrue("the end of the episode is logged") { stderr.readText().contains("accepting again") }
            child.isAlive.shouldBeTrue()
        } finally {
            flood.forEach { it.close() }
            child.outputStream.close() // the child shuts down when its stdin closes
            if (!child.waitFor(10, TimeUnit.SECONDS)) {
                child.destroyForcibly()
                child.waitFor(5, TimeUnit.SECONDS)
            }
            stderr.delete()
        }
        child.exitValue() shouldBe 0
    }
    }
})
