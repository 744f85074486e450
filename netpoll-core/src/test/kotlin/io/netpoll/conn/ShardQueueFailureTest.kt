package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
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

/** A ShardQueue whose connection's executor cannot run its drainer. */
class ShardQueueFailureTest : FunSpec({
    test("an executor that cannot run the drainer: add throws ConnectionClosedException caused by it, the connection closes, every message's memory goes back") {
        val pool = BufferPool(4L shl 20)
        val group = PollerGroup("shard-queue-failure", 1, LoadBalance.ROUND_ROBIN)
        val broken = Executor { throw IllegalStateException("no thread for it") }
        val cfg = ConnConfig(broken, null, null, null, 0, 0, 0, ConnConfig.DEFAULT_MAX_INPUT, 0, pool)
        try {
            ServerSocket(0, 50, InetAddress.getLoopbackAddress()).use { ss ->
                val conn = Dialer.create(group, cfg).connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5))
                ss.accept().use { _ ->
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
        } finally {
            group.close()
        }
    }
})
