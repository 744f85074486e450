package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.netpoll.buffer.BufferPool
import io.netpoll.conn.ConnTestKit.Exec
import io.netpoll.conn.ConnTestKit.server
import java.net.InetSocketAddress
import java.net.StandardSocketOptions
import java.nio.ByteBuffer
import java.nio.channels.SocketChannel
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/**
 * A peer floods an echo server and never reads the echoes: the server must stop reading (read and
 * write backpressure) so its buffer memory stays bounded, and must carry on once the peer reads.
 */
class BackpressureTest : FunSpec({
    val limit = 1L shl 30          // stop flooding at 1 GiB ...
    val maxFloodNanos = TimeUnit.SECONDS.toNanos(30) // ... or after 30 s ...
    val stallNanos = TimeUnit.MILLISECONDS.toNanos(1000) // ... or once the server took nothing for 1 s
    val bound = 64L shl 20

    /** The flood's content has period 251, so one buffer holds every phase and never needs refilling. */
    fun p(i: Long): Byte = (i % 251).toByte()
    val phases = ByteBuffer.allocateDirect(251 * 1024).also { b -> for (k in 0 until b.capacity()) b.put(k, p(k.toLong())) }

    /** Writes pattern bytes continuing at stream offset [from]; returns the bytes written. */
    fun writePattern(ch: SocketChannel, from: Long): Int {
        val b = phases.duplicate()
        b.position((from % 251).toInt())
        return ch.write(b)
    }

    test("a blocking read of a frame larger than the input cap still completes") {
        val sizes = java.util.concurrent.LinkedBlockingQueue<Int>()
        server(Exec.POOL) {
            maxInputBytes(256 shl 10)
            onRequest { c ->
                val r = c.reader()
                val n = r.readInt()
                val frame = r.next(n) // 1 MiB: four times the cap
                var sum = 0L
                for (k in 0 until n) sum += frame.get(k)
                r.release()
                sizes.add(n)
                c.writer().writeLong(sum)
                c.writer().flush()
            }
        }.use { srv ->
            ConnTestKit.peer(srv.port).use { p ->
                val out = java.io.DataOutputStream(p.getOutputStream())
                val inp = java.io.DataInputStream(p.getInputStream())
                repeat(3) {
                    val payload = ByteArray(1 shl 20) { k -> (k % 7).toByte() }
                    out.writeInt(payload.size)
                    out.write(payload)
                    out.flush()
                    inp.readLong() shouldBe payload.sumOf { it.toLong() }
                }
                sizes.toList() shouldBe List(3) { 1 shl 20 }
            }
        }
    }

    test("a pool handler that consumes input with no release() after it still gets everything past the input cap") {
        val total = 1 shl 20
        val consumed = AtomicLong()
        server(Exec.POOL) {
            maxInputBytes(64 shl 10)
            onRequest { c ->
                val r = c.reader()
                r.release() // at the start, as some handlers do: the consuming skip below has none after it
                val n = r.len()
                r.skip(n)
                consumed.addAndGet(n.toLong())
            }
        }.use { srv ->
            ConnTestKit.peer(srv.port).use { p ->
                val writer = Thread { runCatching { p.getOutputStream().write(ByteArray(total)) } }.apply { isDaemon = true; start() }
                ConnTestKit.awaitTrue("the handler consumed all $total bytes") { consumed.get() == total.toLong() }
                writer.join(10_000)
            }
        }
    }

    for (exec in Exec.values()) {
        test("a peer that floods and never reads keeps server buffer memory bounded, and reading resumes ($exec)") {
            val pool = BufferPool(8L shl 20)
            server(exec, pool = pool) {
                onRequest(ConnTestKit::rawEcho)
            }.use { srv ->
                val maxInUse = AtomicLong()
                val sampling = AtomicBoolean(true)
                val sampler = Thread {
                    while (sampling.get()) {
                        val u = pool.bytesInUse()
                        if (u > maxInUse.get()) maxInUse.set(u)
                        Thread.sleep(1)
                    }
                }.apply { isDaemon = true; start() }
                SocketChannel.open(InetSocketAddress("127.0.0.1", srv.port)).use { ch ->
                    ch.setOption(StandardSocketOptions.TCP_NODELAY, true)
                    ch.configureBlocking(false)
                    var sent = 0L
                    val start = System.nanoTime()
                    var lastProgress = start
                    while (sent < limit) {
                        val now = System.nanoTime()
                        if (now - start > maxFloodNanos || now - lastProgress > stallNanos) break
                        val n = writePattern(ch, sent)
                        if (n > 0) {
                            sent += n
                            lastProgress = now
                        } else {
                            Thread.sleep(1)
                        }
                        val u = pool.bytesInUse()
                        if (u > maxInUse.get()) maxInUse.set(u)
                    }
                    val stalled = sent < limit
                    println("backpressure ($exec): peer sent ${sent shr 20} MiB, stalled=$stalled, " +
                        "server bytesInUse peak ${maxInUse.get() shr 10} KiB")
                    maxInUse.get() shouldBeLessThan bound
                    if (exec == Exec.INLINE) {
                        // an inline handler's flush that left the queue over its limit stops the read
                        // loop of that same event (it read on for up to 16 growing rounds: 11-16 MiB)
                        maxInUse.get() shouldBeLessThan (4L shl 20)
                    }

                    // the peer starts reading: every byte it sent comes back, in order
                    ch.configureBlocking(true)
                    val rb = ByteBuffer.allocateDirect(256 shl 10)
                    var got = 0L
                    var bad = 0L
                    val drainEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
                    ch.socket().soTimeout = 10_000
                    while (got < sent && System.nanoTime() - drainEnd < 0) {
                        rb.clear()
                        val n = ch.read(rb)
                        if (n < 0) break
                        for (k in 0 until n) if (rb.get(k) != p(got + k)) bad++
                        got += n
                        val u = pool.bytesInUse()
                        if (u > maxInUse.get()) maxInUse.set(u)
                    }
                    got shouldBe sent
                    bad shouldBe 0L
                    // and the connection still echoes new input
                    val more = 1 shl 20
                    val extra = ByteBuffer.allocate(more)
                    for (k in 0 until more) extra.put(k, p(sent + k))
                    val reader = Thread {
                        var g = 0
                        rb.clear()
                        while (g < more) {
                            rb.clear()
                            val n = ch.read(rb)
                            if (n < 0) break
                            for (k in 0 until n) if (rb.get(k) != p(sent + g + k)) bad++
                            g += n
                        }
                        got += g
                    }.apply { start() }
                    while (extra.hasRemaining()) ch.write(extra)
                    reader.join(10_000)
                    got shouldBe sent + more
                    bad shouldBe 0L
                    sent shouldBeGreaterThan 0L
                }
                sampling.set(false)
                sampler.join(1000)
                maxInUse.get() shouldBeLessThan bound
                srv.stop()
                ConnTestKit.awaitTrue("buffers returned after close") { pool.bytesInUse() == 0L }
            }
        }
    }
})
