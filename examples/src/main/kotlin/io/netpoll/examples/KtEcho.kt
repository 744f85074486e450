package io.netpoll.examples

import io.netpoll.coroutines.NetpollServer
import io.netpoll.coroutines.SuspendConnection
import io.netpoll.coroutines.netpollServer
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.runBlocking

/**
 * The framed echo protocol (4-byte big-endian length + payload) served by the Kotlin DSL: one
 * straight-line coroutine per connection, resumed on its poller thread, echoing zero-copy.
 *
 * ```
 * java -jar examples/target/netpoll-examples.jar kt-echo 7400
 * java -Dkt.dispatcher=default -jar examples/target/netpoll-examples.jar kt-echo 7400   # handlers on Dispatchers.Default
 * ```
 */
object KtEcho {
    private val log = System.getLogger("io.netpoll.examples")

    /** Echoes frames until the peer finishes; a length outside 0..[maxFrame] ends the connection. */
    suspend fun serve(conn: SuspendConnection, maxFrame: Int) {
        var need = 4
        while (conn.awaitReadable(need)) {
            val input = conn.input
            var wrote = false
            need = 4
            while (input.len() >= 4) {
                val n = input.peekInt(0)
                if (n < 0 || n > maxFrame) {
                    log.log(System.Logger.Level.WARNING, "closing ${conn.remoteAddress}: frame length $n outside 0..$maxFrame")
                    if (wrote) conn.flush() // the frames before the bad one are echoed, as framed-echo does
                    return
                }
                if (input.len() < 4 + n) {
                    need = 4 + n
                    break
                }
                conn.output.append(input.slice(4 + n))
                wrote = true
            }
            conn.release()
            if (wrote) conn.flush()
        }
    }

    /**
     * The server; handlers resume on their poller thread unless [offPoller] (then on
     * `Dispatchers.Default`: one hand-off per wake-up, for comparing the two).
     */
    fun CoroutineScope.server(address: String, maxFrame: Int = 16 shl 20, offPoller: Boolean = false): NetpollServer =
        netpollServer {
            listen("tcp", address)
            if (offPoller) dispatcher = Dispatchers.Default
            handle { conn -> serve(conn, maxFrame) }
        }

    @JvmStatic
    fun main(args: Array<String>): Unit = runBlocking {
        val port = args[0].toInt()
        val offPoller = System.getProperty("kt.dispatcher", "poller") == "default"
        val s = server("127.0.0.1:$port", Integer.getInteger("framed.maxFrame", 16 shl 20), offPoller)
        println("kt-echo listening on ${s.address}")
        awaitCancellation()
    }
}
