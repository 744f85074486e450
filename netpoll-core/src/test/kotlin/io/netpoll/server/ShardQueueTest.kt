package io.netpoll.server

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.Dialer
import io.netpoll.EventLoop
import io.netpoll.HandlerExecutors
import io.netpoll.Listener
import io.netpoll.ShardQueue
import io.netpoll.buffer.LinkBuffer
import java.io.DataInputStream
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.time.Duration
import java.util.concurrent.CountDownLatch
import kotlin.concurrent.thread

class ShardQueueTest : FunSpec({
    test("messages from many threads arrive whole and each thread's in the order it added them") {
        ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()).use { server ->
            val producers = 8
            val perProducer = 5_000
            val received = IntArray(producers) { -1 }
            var total = 0
            val reader = thread {
                server.accept().use { s ->
                    val inp = DataInputStream(s.getInputStream().buffered(1 shl 16))
                    repeat(producers * perProducer) {
                        val len = inp.readInt()
                        val producer = inp.readInt()
                        val seq = inp.readInt()
                        val pad = ByteArray(len - 8)
                        inp.readFully(pad)
                        check(pad.all { it == producer.toByte() }) { "corrupted message" }
                        check(seq == received[producer] + 1) { "producer $producer: $seq after ${received[producer]}" }
                        received[producer] = seq
                        total++
                    }
                }
            }
            val conn = Dialer.dial("tcp", "127.0.0.1:${server.localPort}", Duration.ofSeconds(2))
            val q = ShardQueue(conn, 256)
            val start = CountDownLatch(1)
            val threads = (0 until producers).map { p ->
                thread {
                    start.await()
                    for (i in 0 until perProducer) {
                        val m = LinkBuffer()
                        val pad = 8 + (i % 50)
                        m.writeInt(pad)
                        m.writeInt(p)
                        m.writeInt(i)
                        m.writeBinary(ByteArray(pad - 8) { p.toByte() })
                        m.flush()
                        q.add(m)
                    }
                }
            }
            start.countDown()
            threads.forEach { it.join(30_000) }
            reader.join(30_000)
            reader.isAlive shouldBe false
            total shouldBe producers * perProducer
            q.pending() shouldBe 0
            q.close()
            conn.close()
        }
    }

    test("add after close is refused with the closed error and releases the message") {
        val loop = EventLoop.builder().onRequest { }.executor(HandlerExecutors.inline()).pollers(1).build()
        val l = Listener.create("tcp", "127.0.0.1:0")
        val t = thread { loop.serve(l) }
        val conn = Dialer.dial("tcp", "127.0.0.1:${(l.address() as InetSocketAddress).port}", Duration.ofSeconds(2))
        val q = ShardQueue(conn, 4)
        q.close()
        val m = LinkBuffer()
        m.writeInt(1)
        m.flush()
        runCatching { q.add(m) }.exceptionOrNull()!!::class.simpleName shouldBe "ConnectionClosedException"
        m.isClosed shouldBe true
        conn.close()
        loop.shutdown(Duration.ofSeconds(1))
        t.join(5000)
    }
})
