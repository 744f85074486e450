package io.netpoll.examples

import io.netpoll.coroutines.dial
import io.netpoll.examples.KtEcho.server
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.net.InetSocketAddress
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.atomic.LongAdder
import kotlin.random.Random
import kotlin.time.Duration.Companion.seconds

/**
 * The quick-start demo: a framed echo server (Kotlin DSL) and coroutine clients on loopback exchange
 * frames for a few seconds, checking every byte; a progress line each second, then a summary.
 *
 * ```
 * java -jar examples/target/netpoll-examples.jar demo [SECONDS] [CLIENTS]
 * ```
 */
object Demo {
    @JvmStatic
    fun main(args: Array<String>): Unit = runBlocking {
        val seconds = args.getOrNull(0)?.toInt() ?: 5
        val clients = args.getOrNull(1)?.toInt() ?: 16
        val server = server("127.0.0.1:0")
        val port = (server.address as InetSocketAddress).port
        println("netpoll demo: framed echo server on ${server.address}, $clients coroutine clients, ${seconds}s" +
            " (JDK ${Runtime.version().feature()}, libc binding: ${io.netpoll.sys.Sys.libc().name()})")
        val frames = LongAdder()
        val bytes = LongAdder()
        val errors = LongAdder()
        val maxLatencyNanos = AtomicLong()
        val latencySum = LongAdder()
        val deadline = System.nanoTime() + seconds * 1_000_000_000L
        coroutineScope {
            repeat(clients) { id ->
                launch {
                    dial("tcp", "127.0.0.1:$port", 2.seconds).use { conn ->
                        val rnd = Random(id)
                        while (System.nanoTime() < deadline) {
                            val size = rnd.nextInt(16, 4096)
                            val payload = ByteArray(size) { (it * 31 + size + id).toByte() }
                            val start = System.nanoTime()
                            conn.output.writeInt(size)
                            conn.output.writeBinary(payload)
                            conn.flush()
                            val n = conn.readInt()
                            val back = conn.readFully(n)
                            conn.release()
                            val took = System.nanoTime() - start
                            if (n != size || !back.contentEquals(payload)) errors.increment()
                            frames.increment()
                            bytes.add(2L * (4 + size))
                            latencySum.add(took)
                            maxLatencyNanos.accumulateAndGet(took, ::maxOf)
                        }
                    }
                }
            }
            launch {
                var last = 0L
                for (s in 1..seconds) {
                    delay(1.seconds)
                    val now = frames.sum()
                    println("  [%2ds] %,9d frames/s  %6.1f MB total  errors=%d".format(s, now - last, bytes.sum() / 1e6, errors.sum()))
                    last = now
                }
            }
        }
        val report = server.shutdown(2.seconds)
        val n = frames.sum()
        println("summary: %,d frames echoed and checked, %.1f MB, mean latency %.1f us, max %.1f ms, errors=%d; shutdown %s"
            .format(n, bytes.sum() / 1e6, latencySum.sum() / 1e3 / maxOf(1, n), maxLatencyNanos.get() / 1e6, errors.sum(), report))
        if (errors.sum() > 0 || n == 0L) kotlin.system.exitProcess(1)
    }
}
