package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.Dialer
import io.netpoll.ShardQueue
import io.netpoll.buffer.BufferPool
import io.netpoll.buffer.LinkBuffer
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.error.ConnectionClosedException
import io.netpoll.poll.LoadBalance
import io.netpoll.poll.PollerGroup
import java.net.InetAddress
import java.net.ServerSocket
import java.time.Duration
import java.util.concurrent.Executor
import java.util.concurrent.atomic.AtomicReference

/** A ShardQueue whose connection's executor cannot run its drainer, or runs it only when the test says. */
class ShardQueueFailureTest : FunSpec({
    /** A connection dialed (with [executor] as its handler executor) to a JDK listener, and the pool its buffers use. */
    fun withQueueConnection(name: String, executor: Executor, body: (Connection, BufferPool) -> Unit) {
        val pool = BufferPool(4L shl 20)
        val group = PollerGroup(name, 1, LoadBalance.ROUND_ROBIN)
        val cfg = ConnConfig(executor, null, null, null, 0, 0, 0, ConnConfig.DEFAULT_MAX_INPUT, 0, pool)
        try {
            ServerSocket(0, 50, InetAddress.getLoopbackAddress()).use { ss ->
                val conn = Dialer.create(group, cfg).connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5))
                ss.accept().use { _ -> body(conn, pool) }
            }
        } finally {
            group.close()
        }
    }

    test("an executor that cannot run the drainer: add throws ConnectionClosedException caused by it, the connection closes, every message's memory goes back") {
        withQueueConnection("shard-queue-failure", Executor { throw IllegalStateException("no thread for it") }) { conn, pool ->
            val q = ShardQueue(conn, 4)
            val m = LinkBuffer(pool)
            m.writeInt(7)
            m.flush()
            val e = runCatching { q.add(m) }.exceptionOrNull() // before: the executor's own error, the word stuck
            e.shouldBeInstanceOf<ConnectionClosedException>()
            e.cause.shouldBeInstanceOf<IllegalStateException>()
            conn.isActive.shouldBeFalse()
            q.pending() shouldBe 0
            val late = LinkBuffer(pool)
            late.writeInt(8)
            late.flush()
            runCatching { q.add(late) }.exceptionOrNull().shouldBeInstanceOf<ConnectionClosedException>()
            awaitTrue("every buffer's memory is back") { pool.bytesInUse() == 0L }
        }
    }

    test("an add waiting for room when the connection closes is refused with ConnectionClosedException, not queued behind the close") {
        val held = java.util.concurrent.LinkedBlockingQueue<Runnable>()
        // the drainer runs when the test says so
        withQueueConnection("shard-queue-closed-waiting", Executor { held.add(it) }) { conn, pool ->
            val q = ShardQueue(conn, 1)
            fun msg(v: Int) = LinkBuffer(pool).apply { writeInt(v); flush() }
            q.add(msg(1)) // queued; its drainer is held
            val second = AtomicReference<Any?>("still waiting")
            val producer = Thread { second.set(runCatching { q.add(msg(2)) }.fold({ "returned" }, { it })) }
            producer.start()
            awaitTrue("the second add waits for room") { producer.state == Thread.State.WAITING }
            conn.close()
            held.poll(5, java.util.concurrent.TimeUnit.SECONDS)!!.run() // the drainer frees the slot
            producer.join(10_000)
            second.get().shouldBeInstanceOf<ConnectionClosedException>() // before: "returned", the message dropped
            while (true) held.poll()?.run() ?: break
            q.pending() shouldBe 0
            awaitTrue("every buffer's memory is back") { pool.bytesInUse() == 0L }
        }
    }
})
