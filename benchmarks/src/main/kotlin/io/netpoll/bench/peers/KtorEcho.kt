@file:JvmName("KtorEcho")

package io.netpoll.bench.peers

import io.ktor.network.selector.SelectorManager
import io.ktor.network.sockets.Socket
import io.ktor.network.sockets.aSocket
import io.ktor.network.sockets.openReadChannel
import io.ktor.network.sockets.openWriteChannel
import io.ktor.utils.io.ByteReadChannel
import io.ktor.utils.io.ClosedByteChannelException
import io.ktor.utils.io.availableForRead
import io.ktor.utils.io.readFully
import io.ktor.utils.io.readInt
import io.ktor.utils.io.writeFully
import io.ktor.utils.io.writeInt
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.io.IOException

/**
 * Framed echo on Ktor's raw sockets (ktor-network), written as Ktor's socket docs show: one
 * `SelectorManager(Dispatchers.IO)`, `aSocket(selector).tcp().bind(...)`, an accept loop and one
 * coroutine per connection. Each connection reads the 4-byte header with `readInt` and the payload
 * with `readFully` into one reused ByteArray, answers with `writeInt` + `writeFully`, and flushes
 * once per frame, or once per batch when more input is already buffered (`availableForRead > 0`).
 * Accepted sockets get TCP_NODELAY from Ktor's default socket options.
 *
 * Usage: `KtorEcho PORT`. The system property `ktor.echo.dispatcher` picks where the connection
 * coroutines run: `main` (default: the single runBlocking thread, exactly as in Ktor's socket sample;
 * it measured the same throughput as the others and the best tail latency on one core), `io`
 * (Dispatchers.IO, like the selector) or `default`.
 */
fun main(args: Array<String>) {
    val port = args[0].toInt()
    val which = System.getProperty("ktor.echo.dispatcher", "main")
    runBlocking {
        val connections: CoroutineDispatcher? = when (which) {
            "io" -> Dispatchers.IO
            "default" -> Dispatchers.Default
            "main" -> null
            else -> error("ktor.echo.dispatcher must be io, default or main, not $which")
        }
        val selector = SelectorManager(Dispatchers.IO)
        val server = aSocket(selector).tcp().bind("127.0.0.1", port) {
            backlogSize = 4096
            reuseAddress = true
        }
        println("ktor echo listening on 127.0.0.1:$port connections on $which")
        while (true) {
            val socket = server.accept()
            if (connections == null) launch { echo(socket) } else launch(connections) { echo(socket) }
        }
    }
}

private const val MAX_FRAME = 16 shl 20

private suspend fun echo(socket: Socket) {
    val input: ByteReadChannel = socket.openReadChannel()
    val output = socket.openWriteChannel(autoFlush = false)
    var payload = ByteArray(1024)
    try {
        while (true) {
            val len = try {
                input.readInt()
            } catch (e: ClosedByteChannelException) {
                break
            } catch (e: java.io.EOFException) {
                break
            }
            if (len < 0 || len > MAX_FRAME) break
            if (len > payload.size) payload = ByteArray(maxOf(len, payload.size * 2))
            input.readFully(payload, 0, len)
            output.writeInt(len)
            output.writeFully(payload, 0, len)
            if (input.availableForRead == 0) output.flush()
        }
    } catch (e: IOException) {
        // the peer went away
    } finally {
        socket.close()
    }
}
