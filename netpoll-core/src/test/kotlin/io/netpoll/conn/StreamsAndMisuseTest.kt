package io.netpoll.conn

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.conn.ConnTestKit.Exec
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.server
import io.netpoll.conn.ConnTestKit.withDialer
import io.netpoll.error.ConcurrentAccessException
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.WriteTimeoutException
import io.netpoll.poll.Poller
import java.io.DataInputStream
import java.io.DataOutputStream
import java.io.EOFException
import java.net.InetAddress
import java.net.ServerSocket
import java.time.Duration
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.atomic.AtomicReference

/** The stream views, concurrent flushes, and a blocking read on a poller thread. */
class StreamsAndMisuseTest : FunSpec({
    test("InputStream and OutputStream views work with DataInputStream and DataOutputStream on both ends") {
        val serverErrors = ConcurrentLinkedQueue<Throwable>()
        server(Exec.POOL) {
            onConnect { c ->
                val inp = DataInputStream(c.inputStream())
                val out = DataOutputStream(c.outputStream())
                try {
                    while (true) {
                        val text = inp.readUTF()
                        val n = inp.readInt()
                        val blob = ByteArray(n)
                        inp.readFully(blob)
                        out.writeUTF(text.uppercase())
                        out.writeLong(blob.sumOf { it.toLong() and 0xff })
                        out.writeInt(n)
                        out.write(blob)
                        out.flush()
                    }
                } catch (e: EOFException) {
                    out.close() // flushes and closes the connection
                } catch (e: Throwable) {
                    serverErrors.add(e)
                }
            }
            onRequest { }
        }.use { srv ->
            withDialer { d ->
                val c = d.connect("tcp", "127.0.0.1:${srv.port}", Duration.ofSeconds(5))
                c.setReadTimeout(Duration.ofSeconds(5))
                val out = DataOutputStream(c.outputStream())
                val inp = DataInputStream(c.inputStream())
                for (i in 0 until 60) {
                    val size = if (i % 10 == 9) 200_000 + i else i * 37
                    val blob = ByteArray(size) { (it * 13 + i).toByte() }
                    out.writeUTF("msg $i ü")
                    out.writeInt(size)
                    out.write(blob)
                    out.flush()
                    inp.readUTF() shouldBe "MSG $i Ü"
                    inp.readLong() shouldBe blob.sumOf { it.toLong() and 0xff }
                    inp.readInt() shouldBe size
                    val back = ByteArray(size)
                    inp.readFully(back)
                    back.contentEquals(blob).shouldBeTrue()
                }
                c.shutdownOutput() // the server's readUTF sees EOF and closes
                inp.read() shouldBe -1
                awaitTrue("server side closed") { srv.loop.connections() == 0 }
                c.close()
            }
            serverErrors.toList() shouldBe emptyList()
        }
    }

    test("a flush after close() throws ConnectionClosedException and nothing written after the close reaches the peer") {
        dialedPeer { c, peer ->
            c.writer().writeString("sent")
            c.writer().flush()
            c.close()
            c.writer().writeString("dropped") // a write on a closed connection goes nowhere
            shouldThrow<ConnectionClosedException> { c.writer().flush() }
            val got = peer.getInputStream().readAllBytes() // to the FIN the close sent
            String(got) shouldBe "sent"
        }
    }

    test("after close() the reader's calls that never wait throw ConnectionClosedException too, not an index error, though the bytes were buffered") {
        dialedPeer { c, peer ->
            peer.getOutputStream().write(byteArrayOf(0, 0, 0, 7, '\n'.code.toByte()))
            c.setReadTimeout(Duration.ofSeconds(5))
            c.reader().peek(5) // buffered: the calls below would succeed on an open connection
            c.reader().peekInt(0) shouldBe 7
            c.close()
            shouldThrow<ConnectionClosedException> { c.reader().peekInt(0) }
            shouldThrow<ConnectionClosedException> { c.reader().peekByte(4) }
            shouldThrow<ConnectionClosedException> { c.reader().indexOf('\n'.code.toByte(), 0) }
            shouldThrow<ConnectionClosedException> { c.reader().readInt() }
        }
    }

    test("shutdownOutput at the write timeout throws WriteTimeoutException and leaves the output open: the queued bytes and later writes still go out, and a second shutdownOutput sends EOF after them; after close() it throws ConnectionClosedException") {
        val size = 16 shl 20 // far more than the socket buffers hold while the peer does not read
        ServerSocket(0, 10, InetAddress.getLoopbackAddress()).use { ss ->
            ss.receiveBufferSize = 4096
            ss.soTimeout = 5000
            withDialer(io.netpoll.buffer.BufferPool(64L shl 20)) { d ->
                val c = d.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5))
                ss.accept().use { peer ->
                    peer.soTimeout = 10_000
                    c.setWriteTimeout(Duration.ofMillis(200))
                    c.writer().writeBinary(ConnTestKit.pattern(0, size))
                    shouldThrow<WriteTimeoutException> { c.shutdownOutput() } // the peer reads nothing yet
                    c.setWriteTimeout(null)
                    val got = java.util.concurrent.CompletableFuture.supplyAsync { peer.getInputStream().readAllBytes() }
                    c.writer().writeString("more")
                    c.writer().flush() // waits while the peer reads: now everything queued is sent
                    c.writer().writeString("last")
                    c.writer().flush() // the output is still open: a write after SHUT_WR would fail (EPIPE)
                    c.shutdownOutput() // now the EOF, which ends readAllBytes
                    got.get(20, TimeUnit.SECONDS).contentEquals(ConnTestKit.pattern(0, size) + "morelast".toByteArray()) shouldBe true
                    c.close()
                    shouldThrow<ConnectionClosedException> { c.shutdownOutput() }
                }
            }
        }
    }

    test("two threads flushing at once: one of them gets ConcurrentAccessException, no byte is lost") {
        ServerSocket(0, 10, InetAddress.getLoopbackAddress()).use { ss ->
            ss.receiveBufferSize = 4096 // the flushes hit a full socket and wait for the poller
            ss.soTimeout = 5000
            withDialer { d ->
                val c = d.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5))
                val peer = ss.accept()
                val received = AtomicLong()
                val bad = AtomicLong()
                val reader = Thread {
                    val inp = peer.getInputStream()
                    val b = ByteArray(1 shl 16)
                    while (true) {
                        val n = try { inp.read(b) } catch (e: Exception) { -1 }
                        if (n < 0) break
                        val base = received.get()
                        for (k in 0 until n) if (b[k] != ((base + k) % 251).toByte()) bad.incrementAndGet()
                        received.addAndGet(n.toLong())
                    }
                }.apply { start() }
                val chunk = 1 shl 20
                var written = 0L
                val cae = AtomicInteger()
                val other = AtomicReference<Throwable?>()
                val barrier = CyclicBarrier(2)
                var attempts = 0
                while (cae.get() == 0 && attempts < 100) {
                    attempts++
                    c.writer().writeBinary(ByteArray(chunk) { ((written + it) % 251).toByte() })
                    written += chunk
                    fun flushOnce() {
                        try {
                            barrier.await(5, TimeUnit.SECONDS)
                            c.writer().flush()
                        } catch (e: ConcurrentAccessException) {
                            cae.incrementAndGet()
                        } catch (e: Throwable) {
                            other.compareAndSet(null, e)
                        }
                    }
                    val second = Thread { flushOnce() }.apply { start() }
                    flushOnce()
                    second.join(10_000)
                }
                println("concurrent flush: ConcurrentAccessException after $attempts attempt(s)")
                other.get() shouldBe null
                cae.get() shouldBeGreaterThan 0
                c.writer().flush() // whatever a losing flush left behind goes out now
                awaitTrue("every byte arrived") { received.get() == written }
                bad.get() shouldBe 0L
                c.close()
                reader.join(5000)
                peer.close()
            }
        }
    }

    test("an inline handler's read that would wait throws IllegalStateException on the poller thread") {
        val refusals = ConcurrentLinkedQueue<Throwable>()
        val onPoller = AtomicInteger()
        server(Exec.INLINE) {
            onRequest { c ->
                if (Poller.current() != null) onPoller.incrementAndGet()
                try {
                    val frame = c.reader().next(10)
                    val copy = ByteArray(10).also { frame.get(it) }
                    c.reader().release()
                    c.writer().writeBinary(copy)
                    c.writer().flush()
                } catch (e: IllegalStateException) {
                    refusals.add(e) // return; called again when more input arrives
                }
            }
        }.use { srv ->
            peer(srv.port).use { p ->
                p.getOutputStream().write(ByteArray(3) { it.toByte() })
                awaitTrue("the read was refused") { refusals.isNotEmpty() }
                refusals.first().shouldBeInstanceOf<IllegalStateException>()
                p.getOutputStream().write(ByteArray(7) { (it + 3).toByte() })
                ConnTestKit.readFully(p.getInputStream(), 10).toList() shouldBe List(10) { it.toByte() }
                onPoller.get() shouldBeGreaterThan 0
                srv.loop.connections() shouldBe 1
            }
        }
    }

    test("closing the output stream sends every byte a write-queue limit let the flush leave queued, then closes") {
        val total = 8 shl 20
        val closed = java.util.concurrent.CountDownLatch(1)
        val srv = server(Exec.POOL) {
            writeQueueLimit(64L shl 20) // the flush hands the bytes over and returns at once
            onConnect { c ->
                c.outputStream().use { out -> out.write(ConnTestKit.pattern(0, total)) }
                closed.countDown()
            }
            onRequest { }
        }
        try {
            peer(srv.port, configure = { receiveBufferSize = 16 * 1024 }).use { p ->
                closed.await(10, TimeUnit.SECONDS).shouldBeTrue() // closed before the peer read much
                val got = p.getInputStream().readAllBytes() // then EOF
                got.size shouldBe total // before: the queued bytes were dropped at close
                got.contentEquals(ConnTestKit.pattern(0, total)).shouldBeTrue()
            }
        } finally {
            srv.stop()
        }
    }

    test("a blocking until() with no delimiter in a whole input cap throws LimitExceededException and consumes nothing") {
        val outcome = AtomicReference<Any?>()
        val buffered = AtomicInteger()
        val srv = server(Exec.POOL) {
            maxInputBytes(4096)
            onConnect { c ->
                outcome.set(runCatching { c.reader().until('\n'.code.toByte()) }.fold({ it }, { it }))
                buffered.set(c.reader().len())
            }
            onRequest { }
        }
        try {
            peer(srv.port).use { p ->
                p.getOutputStream().write(ByteArray(64 * 1024) { 'x'.code.toByte() }) // before: buffered all of it, and waited on
                awaitTrue("until() returned") { outcome.get() != null }
                outcome.get().shouldBeInstanceOf<io.netpoll.error.LimitExceededException>()
                (buffered.get() >= 4096).shouldBeTrue() // nothing consumed
            }
        } finally {
            srv.stop()
        }
    }
})

/** A dialed connection [c] to a plain loopback socket, and that socket [peer] (5 s timeouts). */
private fun dialedPeer(body: (c: io.netpoll.Connection, peer: java.net.Socket) -> Unit) {
    ServerSocket(0, 10, InetAddress.getLoopbackAddress()).use { ss ->
        ss.soTimeout = 5000
        withDialer { d ->
            val c = d.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5))
            ss.accept().use { peer ->
                peer.soTimeout = 5000
                body(c, peer)
            }
        }
    }
}
