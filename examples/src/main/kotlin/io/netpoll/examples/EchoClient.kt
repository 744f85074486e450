package io.netpoll.examples

import io.netpoll.coroutines.dial
import io.netpoll.coroutines.dispatcher
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlin.time.Duration.Companion.seconds

/**
 * A coroutine client for the framed echo servers: sends COUNT frames of SIZE bytes, checks each
 * echo, and prints the round trips per second. It runs on the connection's poller thread
 * (`withContext(conn.dispatcher)`), so each reply resumes it with no hand-off.
 *
 * ```
 * java -jar examples/target/netpoll-examples.jar echo-client 7400 [COUNT] [SIZE]
 * ```
 */
object EchoClient {
    @JvmStatic
    fun main(args: Array<String>): Unit = runBlocking {
        val port = args[0].toInt()
        val count = args.getOrNull(1)?.toInt() ?: 10_000
        val size = args.getOrNull(2)?.toInt() ?: 1024
        val payload = ByteArray(size) { (it % 251).toByte() }
        dial("tcp", "127.0.0.1:$port", 2.seconds).use { conn ->
            val start = System.nanoTime()
            withContext(conn.dispatcher) {
                repeat(count) {
                    conn.output.writeInt(size)
                    conn.output.writeBinary(payload)
                    conn.flush()
                    check(conn.readInt() == size) { "bad length" }
                    check(conn.readFully(size).contentEquals(payload)) { "bad payload" }
                    conn.release()
                }
            }
            val secs = (System.nanoTime() - start) / 1e9
            println("%d frames of %d bytes echoed and checked in %.2f s: %.0f round trips/s".format(count, size, secs, count / secs))
        }
    }
}
