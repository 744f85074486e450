package io.netpoll.server

import io.kotest.core.spec.style.FunSpec
import io.netpoll.CloseCallback
import io.netpoll.Connection
import io.netpoll.OnRequest
import io.netpoll.ShardQueue
import io.netpoll.buffer.BufferPool
import io.netpoll.buffer.LinkBuffer
import io.netpoll.buffer.Reader
import io.netpoll.buffer.Writer
import io.netpoll.error.ConnectionClosedException
import io.netpoll.modelChecking
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.annotations.Validate
import org.jetbrains.kotlinx.lincheck.check
import java.io.InputStream
import java.io.OutputStream
import java.net.SocketAddress
import java.time.Duration
import java.time.Instant

/**
 * Model-checks [ShardQueue]'s drain handshake (the IDLE / RUNNING / AGAIN word and the ring of
 * slots) with Lincheck: three producers add messages while one may close the queue; the drainer
 * runs on whichever producer's trigger starts a round (a connection that is not a NetConnection
 * drains inline). Against [ShardQueueModel] (an add is accepted until the close), and after every
 * interleaving explored: every accepted message reached the connection's writer exactly once, each
 * producer's in the order it added them, nothing is left queued, and every message buffer was closed.
 */
class ShardQueueLincheckTest : FunSpec({
    test("every accepted message is written once, in each producer's order, and none is stranded") {
        modelChecking()
            // the races that matter on every run: three producers triggering the drain at once, and
            // a close racing adds (what was accepted before it is still sent)
            .addCustomScenario {
                parallel {
                    thread { actor(ShardQueueOps::addA); actor(ShardQueueOps::addA) }
                    thread { actor(ShardQueueOps::addB); actor(ShardQueueOps::addB) }
                    thread { actor(ShardQueueOps::addC) }
                }
            }
            .addCustomScenario {
                parallel {
                    thread { actor(ShardQueueOps::addA); actor(ShardQueueOps::addA) }
                    thread { actor(ShardQueueOps::close) }
                    thread { actor(ShardQueueOps::addC); actor(ShardQueueOps::addC) }
                }
            }
            .sequentialSpecification(ShardQueueModel::class.java)
            .actorsBefore(1)
            .actorsAfter(1)
            .check(ShardQueueOps::class.java)
    }
})

/**
 * One queue in front of a [RecordingConnection]. Producers A, B and C each add from one thread
 * (`nonParallelGroup`); message `100 * producer + k` is a producer's k-th.
 */
class ShardQueueOps {
    private val pool = BufferPool(1L shl 20)
    private val conn = RecordingConnection(LinkBuffer(pool))
    private val queue = ShardQueue(conn, 16)
    private val added = Array(3) { ArrayList<Int>() }
    /** Every message each producer made, accepted or not (each list touched by its producer only). */
    private val messages = Array(3) { ArrayList<LinkBuffer>() }

    @Operation(nonParallelGroup = "a") fun addA(): Boolean = add(0)
    @Operation(nonParallelGroup = "b") fun addB(): Boolean = add(1)
    @Operation(nonParallelGroup = "c") fun addC(): Boolean = add(2)

    /** Refuses further adds; what was accepted is still sent. */
    @Operation fun close() = queue.close()

    /** true if the queue accepted the message, false if it was closed. */
    private fun add(producer: Int): Boolean {
        val id = 100 * producer + messages[producer].size
        val m = LinkBuffer(pool)
        m.writeInt(id)
        m.flush()
        messages[producer].add(m)
        return try {
            queue.add(m)
            added[producer].add(id)
            true
        } catch (e: ConnectionClosedException) {
            false
        }
    }

    @Validate
    fun everyAcceptedMessageWrittenOnceInOrder() {
        val out = conn.out
        val written = (0 until out.len() / 4).map { out.peekInt(4 * it) }
        check(written.toSet().size == written.size) { "a message written twice: $written" }
        for (p in 0 until 3) {
            val mine = written.filter { it / 100 == p }
            check(mine == added[p]) { "producer $p added ${added[p]}, the writer got $mine (all: $written)" }
        }
        check(queue.pending() == 0) { "${queue.pending()} messages still queued" }
        check(messages.all { mine -> mine.all { it.isClosed } }) { "a message buffer was left open" }
    }
}

/** The queue's contract as plain sequential code: adds are accepted until the close. */
class ShardQueueModel {
    private var closed = false

    fun addA(): Boolean = !closed
    fun addB(): Boolean = !closed
    fun addC(): Boolean = !closed

    fun close() {
        closed = true
    }
}

/** A connection whose writer is [out] and that is never closed; the queue needs nothing else. */
class RecordingConnection(val out: LinkBuffer) : Connection {
    override fun writer(): Writer = out
    override fun isActive(): Boolean = true
    override fun close() = unused()
    override fun reader(): Reader = unused()
    override fun closeCause(): Throwable? = null
    override fun addCloseCallback(callback: CloseCallback) = unused()
    override fun setOnRequest(handler: OnRequest) = unused()
    override fun setReadTimeout(timeout: Duration?) = unused()
    override fun setWriteTimeout(timeout: Duration?) = unused()
    override fun setIdleTimeout(timeout: Duration?) = unused()
    override fun setReadDeadline(deadline: Instant?) = unused()
    override fun setWriteDeadline(deadline: Instant?) = unused()
    override fun localAddress(): SocketAddress = unused()
    override fun remoteAddress(): SocketAddress = unused()
    override fun shutdownOutput() = unused()
    override fun inputStream(): InputStream = unused()
    override fun outputStream(): OutputStream = unused()
    override fun attachment(): Any? = null
    override fun attach(attachment: Any?) = unused()

    private fun unused(): Nothing = throw UnsupportedOperationException("not used by ShardQueue")
}
