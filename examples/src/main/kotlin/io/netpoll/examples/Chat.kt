package io.netpoll.examples

import io.netpoll.coroutines.SuspendConnection
import io.netpoll.coroutines.netpollServer
import io.netpoll.error.LimitExceededException
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.util.concurrent.ConcurrentHashMap

/**
 * A line-based chat server on the Kotlin DSL: every line a client sends goes to every connected
 * client, prefixed with the sender's number. Each connection has one writer coroutine that owns its
 * output (a connection has one writer at a time) fed by a bounded channel; a client too slow to keep
 * up with the room is disconnected instead of letting its queue grow.
 *
 * ```
 * java -jar examples/target/netpoll-examples.jar chat 7500      # then: nc 127.0.0.1 7500
 * ```
 */
object Chat {
    private const val MAX_LINE = 1024
    private const val QUEUE = 256

    class Room {
        private val members = ConcurrentHashMap<Int, Channel<String>>()

        fun join(id: Int): Channel<String> = Channel<String>(QUEUE).also { members[id] = it }

        fun leave(id: Int) {
            members.remove(id)?.close()
        }

        /** Queues [line] for every member; a member whose queue is full is dropped (its channel closes). */
        fun broadcast(line: String) {
            for ((id, ch) in members) {
                if (ch.trySend(line).isFailure) leave(id)
            }
        }

        val size: Int get() = members.size
    }

    suspend fun session(conn: SuspendConnection, id: Int, room: Room) = coroutineScope {
        val outbox = room.join(id)
        val writer = launch {
            for (line in outbox) {
                conn.output.writeString(line)
                conn.output.writeByte('\n'.code.toByte())
                if (outbox.isEmpty) conn.flush()
            }
            conn.close() // dropped for being too slow, or left
        }
        room.broadcast("* $id joined (${room.size} here)")
        try {
            while (true) {
                val line = conn.readLine(MAX_LINE) ?: break
                if (line.isNotBlank()) room.broadcast("$id: $line")
            }
        } catch (e: LimitExceededException) {
            // a line over the limit: this client is misbehaving; let it go
        } finally {
            room.leave(id)
            room.broadcast("* $id left")
            writer.cancel()
        }
    }

    @JvmStatic
    fun main(args: Array<String>): Unit = runBlocking {
        val port = args[0].toInt()
        val room = Room()
        var next = 0
        val server = netpollServer {
            listen("tcp", "127.0.0.1:$port")
            handle { conn -> session(conn, synchronized(room) { ++next }, room) }
        }
        println("chat listening on ${server.address}")
        awaitCancellation()
    }
}
