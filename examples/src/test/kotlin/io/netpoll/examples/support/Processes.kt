package io.netpoll.examples.support

import io.kotest.core.test.Enabled
import io.kotest.core.test.TestCase
import java.io.File
import java.io.InputStream
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.util.concurrent.TimeUnit
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** Third-party command-line clients (wrk, redis-cli, redis-benchmark, curl, redis-server). */
object Tools {
    /** The tool's path on PATH, or null. */
    fun find(tool: String): String? =
        (System.getenv("PATH") ?: "").split(File.pathSeparatorChar)
            .map { File(it, tool) }
            .firstOrNull { it.isFile && it.canExecute() }?.path

    /**
     * For `.config(enabledOrReasonIf = Tools.need("wrk"))`: runs the test only when every tool is
     * installed; otherwise the test is reported as skipped, and the reason is printed.
     */
    fun need(vararg tools: String): (TestCase) -> Enabled = { tc ->
        val missing = tools.filter { find(it) == null }
        if (missing.isEmpty()) {
            Enabled.enabled
        } else {
            val reason = "${missing.joinToString()} not installed (Debian: apt-get install wrk redis-tools redis-server curl)"
            println("SKIPPED '${tc.name.testName}': $reason")
            Enabled.disabled(reason)
        }
    }
}

/** A finished child process. */
data class ProcResult(val command: List<String>, val exit: Int, val out: String, val err: String) {
    override fun toString(): String = "$command exited $exit\n--- stdout\n$out\n--- stderr\n$err"
}

/** A child process whose output is collected on two threads; [close] kills it (by its PID). */
class Child(val command: List<String>, env: Map<String, String> = emptyMap()) : AutoCloseable {
    val process: Process = ProcessBuilder(command).also { it.environment().putAll(env) }.start()
    private val out = Collector(process.inputStream, "out-${process.pid()}")
    private val err = Collector(process.errorStream, "err-${process.pid()}")

    val pid: Long get() = process.pid()

    /** Waits for the process to exit by itself within [timeout]; kills it and throws if it does not. */
    fun await(timeout: Duration): ProcResult {
        if (!process.waitFor(timeout.inWholeMilliseconds, TimeUnit.MILLISECONDS)) {
            close()
            throw AssertionError("$command did not finish within $timeout; killed. stdout so far:\n${out.text()}\nstderr:\n${err.text()}")
        }
        out.join()
        err.join()
        return ProcResult(command, process.exitValue(), out.text(), err.text())
    }

    /** Stdout so far. */
    fun stdoutSoFar(): String = out.text()

    /** Waits (bounded) until stdout has a line matching [regex]; returns the match. */
    fun awaitLine(regex: Regex, timeout: Duration): MatchResult {
        val deadline = System.nanoTime() + timeout.inWholeNanoseconds
        while (System.nanoTime() < deadline) {
            regex.find(out.text())?.let { return it }
            if (!process.isAlive) break
            out.awaitMore(50)
        }
        regex.find(out.text())?.let { return it }
        close()
        throw AssertionError("$command printed no line matching $regex within $timeout:\n${out.text()}\n${err.text()}")
    }

    override fun close() {
        if (process.isAlive) {
            process.destroy() // SIGTERM to this PID
            if (!process.waitFor(3, TimeUnit.SECONDS)) {
                process.destroyForcibly()
                process.waitFor(3, TimeUnit.SECONDS)
            }
        }
    }

    private class Collector(private val stream: InputStream, name: String) : Thread(name) {
        private val buf = StringBuffer()
        private val lock = java.util.concurrent.locks.ReentrantLock()
        private val grew = lock.newCondition()

        init {
            isDaemon = true
            start()
        }

        override fun run() {
            val b = ByteArray(8192)
            while (true) {
                val n = try {
                    stream.read(b)
                } catch (e: java.io.IOException) {
                    -1
                }
                if (n < 0) break
                buf.append(String(b, 0, n, Charsets.UTF_8))
                signal()
            }
            signal()
        }

        private fun signal() {
            lock.lock()
            try {
                grew.signalAll()
            } finally {
                lock.unlock()
            }
        }

        fun awaitMore(millis: Long) {
            lock.lock()
            try {
                grew.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS)
            } finally {
                lock.unlock()
            }
        }

        fun text(): String = buf.toString()
    }
}

/** Runs [command] to completion (at most [timeout]). */
fun runTool(vararg command: String, timeout: Duration = 30.seconds): ProcResult = Child(command.toList()).await(timeout)

/** A TCP port free on loopback right now (for servers that cannot listen on port 0, like redis-server). */
fun freePort(): Int = ServerSocket().use {
    it.reuseAddress = true
    it.bind(InetSocketAddress("127.0.0.1", 0))
    it.localPort
}

/** The java launcher running these tests. */
fun javaExecutable(): String = File(System.getProperty("java.home"), "bin/java").path
