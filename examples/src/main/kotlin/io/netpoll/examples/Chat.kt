package io.netpoll.examples

import io.netpoll.coroutines.NetpollServer
import io.netpoll.coroutines.SuspendConnection
import io.netpoll.coroutines.netpollServer
import io.netpoll.error.LimitExceededException
import kotlinx.coroutines.CoroutineScope
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
        private class Member(val outbox: Channel<String>, val conn: SuspendConnection)

        private val members = ConcurrentHashMap<Int, Member>()

        fun join(id: Int, conn: SuspendConnection): Channel<String> =
            Channel<String>(QUEUE).also { members[id] = Member(it, conn) }

        /**
         * Takes [id] out of the room and closes its queue; with [disconnect], its connection too (safe
         * from any thread): a writer stuck in a flush to a client that stopped reading wakes with the
         * closed error, and its session ends.
         */
        fun leave(id: Int, disconnect: Boolean = false) {
            val m = members.remove(id) ?: return
            m.outbox.close()
            if (disconnect) m.conn.close()
        }

        /** Queues [line] for every member; a member whose queue is full is dropped and disconnected. */
        fun broadcast(line: String) {
            for ((id, m) in members) {
                if (m.outbox.trySend(line).isFailure) leave(id, disconnect = true)
            }
        }

        val size: Int get() = members.size
    }

    suspend fun session(conn: SuspendConnection, id: Int, room: Room) = coroutineScope {
        val outbox = room.join(id, conn)
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

    /** A chat server on [address] in this scope, with a room of its own. */
    fun CoroutineScope.server(address: String): NetpollServer {
        val room = Room()
        var next = 0
        return netpollServer {
            listen("tcp", address)
            handle { conn -> session(conn, synchronized(room) { ++next }, room) }
        }
    }

    @JvmStatic
    fun main(args: Array<String>): Unit = runBlocking {
        val server = server("127.0.0.1:${args[0].toInt()}")
        println("chat listening on ${server.address}")
        awaitCancellation()
    }
}
