package io.netpoll.examples.resp

import io.netpoll.coroutines.NetpollServer
import io.netpoll.coroutines.SuspendConnection
import io.netpoll.coroutines.netpollServer
import io.netpoll.error.ConnectionClosedException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import java.io.IOException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * A Redis-protocol (RESP2) server on the Kotlin coroutine DSL, enough for `redis-cli` and
 * `redis-benchmark`: see [RespCommands] for the commands and [RespParser] for the protocol and its limits.
 * One coroutine per connection, resumed on its poller thread: it waits for input, parses every complete
 * command in the buffer (pipelining), writes the replies and flushes them together.
 *
 * **Errors.** Command errors (unknown command, wrong arity, INCR on a non-integer, ...) are `-ERR`
 * replies and the connection goes on. Protocol errors (broken multibulk framing: non-numeric, negative
 * or oversized lengths, data not matching its length) are answered with `-ERR Protocol error: ...` and
 * close the connection, as in Redis: the reply is sent, the sending side shut, and what the client
 * still sends discarded for up to a second before the close (so it reads the reply, not a reset).
 *
 * ```
 * java -jar examples/target/netpoll-examples.jar resp 6380
 * redis-cli -p 6380 SET k v
 * ```
 */
public object RespServer {
    private val log = System.getLogger("io.netpoll.examples.resp")
    private const val FLUSH_AT = 64 shl 10
    private const val LINGER_BYTES = 1 shl 20
    private val lingerTime = 1.seconds

    /** Serves one connection until the client leaves, QUITs or breaks the protocol. */
    public suspend fun serve(conn: SuspendConnection, store: RespStore, limits: RespLimits = RespLimits()) {
        val parser = RespParser(limits)
        val commands = RespCommands(store)
        var need = 1
        try {
            while (conn.awaitReadable(need)) {
                val input = conn.input
                val out = conn.output
                need = 1
                parsing@ while (true) {
                    when (parser.parse(input)) {
                        RespParser.COMMAND -> {
                            if (commands.execute(parser.args, parser.argc, out) == RespCommands.After.CLOSE) {
                                conn.release()
                                lingerClose(conn)
                                return
                            }
                            if (out.mallocLen() >= FLUSH_AT) conn.flush()
                        }
                        RespParser.EMPTY -> {}
                        RespParser.NEED_MORE -> {
                            need = parser.need
                            break@parsing
                        }
                        else -> {
                            log.log(System.Logger.Level.DEBUG) { "${conn.remoteAddress}: ${parser.error}; closing" }
                            out.writeString("-ERR ${parser.error}\r\n")
                            conn.release()
                            lingerClose(conn)
                            return
                        }
                    }
                }
                conn.release()
                if (out.mallocLen() > 0) conn.flush()
            }
        } catch (e: ConnectionClosedException) {
            // the client left, or the idle timeout closed the connection: nothing to answer
        }
    }

    /** Sends what is written, half-closes, and discards input until EOF, a second or 1 MiB. */
    private suspend fun lingerClose(conn: SuspendConnection) {
        try {
            conn.shutdownOutput()
        } catch (e: IOException) {
            return
        }
        withTimeoutOrNull(lingerTime) {
            var total = 0L
            while (total < LINGER_BYTES && conn.awaitReadable(1)) {
                val n = conn.input.len()
                conn.input.skip(n)
                conn.release()
                total += n
            }
        }
    }

    /** Starts the server in this scope; [NetpollServer.address] is the bound address. */
    public fun CoroutineScope.respServer(
        address: String,
        store: RespStore = RespStore(),
        limits: RespLimits = RespLimits(),
        idleTimeout: Duration? = null,
    ): NetpollServer = netpollServer {
        listen("tcp", address)
        this.idleTimeout = idleTimeout
        handle { conn -> serve(conn, store, limits) }
    }

    @JvmStatic
    public fun main(args: Array<String>): Unit = runBlocking {
        val port = args[0].toInt()
        val s = respServer("127.0.0.1:$port")
        println("resp listening on ${s.address}")
        awaitCancellation()
    }
}
