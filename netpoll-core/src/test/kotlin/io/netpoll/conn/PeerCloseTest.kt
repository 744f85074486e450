package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.endedByReset
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.recordClose
import io.netpoll.conn.ConnTestKit.sendThenReset
import io.netpoll.conn.ConnTestKit.server
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.ConnectionResetException
import io.netpoll.error.EofException
import java.io.DataOutputStream
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.atomic.AtomicReference

/** The peer half-closes, resets mid-frame, or we close while a handler is blocked in a read. */
class PeerCloseTest : FunSpec({
    test("after the peer's shutdownOutput the handler reads every byte, then EOF, and can still answer") {
        val total = 300_000
        val seen = AtomicLong()
        val bad = AtomicInteger()
        val eof = AtomicReference<Throwable?>()
        val closeRuns = AtomicInteger()
        server(ConnTestKit.Exec.POOL) {
            onPrepare { c -> c.addCloseCallback { closeRuns.incrementAndGet() } }
            onConnect { c ->
                // one blocking loop for the whole connection: read until EOF, then answer
                eof.set(readPatternToEnd(c.reader(), seen, bad))
                c.writer().writeString("got ${seen.get()}")
                c.writer().flush()
            }
            onRequest { }
        }.use { srv ->
            peer(srv.port).use { p ->
                val out = p.getOutputStream()
                out.write(ConnTestKit.pattern(0, total))
                p.shutdownOutput()
                val answer = String(ConnTestKit.readToEof(p)) // the answer, then EOF: the server closed
                answer shouldBe "got $total"
                eof.get().shouldBeInstanceOf<EofException>()
                bad.get() shouldBe 0
                awaitTrue("the server closed the connection and ran its close callback") { closeRuns.get() == 1 }
                awaitTrue("the connection left the loop") { srv.loop.connections() == 0 } // its callback may run first
            }
        }
    }

    for (exec in ConnTestKit.Exec.values()) {
        test("a FIN that arrives together with the last bytes is never missed ($exec)") {
            // data and FIN in one readiness edge: the short read that drains the data must not end reading
            server(exec) {
                onRequest { c ->
                    val r = c.reader()
                    val n = r.len()
                    c.writer().append(r.slice(n))
                    r.release()
                    c.writer().flush()
                }
            }.use { srv ->
                repeat(40) { i ->
                    peer(srv.port, soTimeoutMs = 3000).use { p ->
                        val msg = "message $i".toByteArray()
                        p.getOutputStream().write(msg)
                        p.shutdownOutput()
                        // echo, then the server closes once it has seen EOF
                        ConnTestKit.readToEof(p).toList() shouldBe msg.toList()
                    }
                }
                awaitTrue("every connection closed") { srv.loop.connections() == 0 }
            }
        }
    }

    test("the server's shutdownOutput sends EOF after its answer while it goes on reading; a flush after it fails") {
        val got = java.util.concurrent.ConcurrentLinkedQueue<String>()
        val lateFlush = AtomicReference<Throwable?>()
        server(ConnTestKit.Exec.POOL) {
            onRequest { c ->
                val r = c.reader()
                val s = r.readString(r.len())
                r.release()
                got.add(s)
                if (s == "hello") {
                    c.writer().writeString("bye")
                    c.shutdownOutput()
                } else {
                    c.writer().writeString("too late")
                    lateFlush.set(runCatching { c.writer().flush() }.exceptionOrNull())
                }
            }
        }.use { srv ->
            peer(srv.port).use { p ->
                p.getOutputStream().write("hello".toByteArray())
                String(ConnTestKit.readToEof(p)) shouldBe "bye" // the answer (flushed by shutdownOutput), then EOF
                p.getOutputStream().write("still there".toByteArray())
                awaitTrue("the server still reads") { got.size == 2 }
                got.toList() shouldBe listOf("hello", "still there")
                awaitTrue("the handler tried to answer again") { lateFlush.get() != null }
                lateFlush.get().shouldBeInstanceOf<ConnectionResetException>() // broken pipe: the output is shut
                srv.loop.connections() shouldBe 1
            }
            awaitTrue("closed once the peer closed too") { srv.loop.connections() == 0 }
        }
    }

    test("an inline handler's shutdownOutput after an answer larger than the socket holds: the peer reads every byte of it, then EOF") {
        val size = 12 shl 20 // far more than the socket buffers hold: the inline flush leaves most queued
        server(ConnTestKit.Exec.INLINE, pool = io.netpoll.buffer.BufferPool(64L shl 20)) {
            onRequest { c ->
                c.reader().skip(c.reader().len())
                c.reader().release()
                c.writer().writeBinary(ConnTestKit.pattern(0, size))
                c.shutdownOutput() // on the poller thread: the EOF must follow the queued bytes
            }
        }.use { srv ->
            peer(srv.port, configure = { receiveBufferSize = 4096 }).use { p ->
                p.getOutputStream().write("go".toByteArray())
                val got = ConnTestKit.readToEof(p)
                got.size shouldBe size
                got.contentEquals(ConnTestKit.pattern(0, size)) shouldBe true
            }
        }
    }

    test("a reset in the middle of a frame wakes the reader blocked for the rest with ConnectionClosedException caused by the reset, and closes with it") {
        val blocked = CountDownLatch(1)
        val readerError = AtomicReference<Throwable?>()
        val cause = AtomicReference<Any?>()
        val closeRuns = AtomicInteger()
        val conn = AtomicReference<Connection>()
        server(ConnTestKit.Exec.POOL) {
            onPrepare { c ->
                conn.set(c)
                c.addCloseCallback { cc ->
                    closeRuns.incrementAndGet()
                    cause.set(cc.closeCause() ?: "none")
                }
            }
            onRequest { c ->
                val r = c.reader()
                val n = r.readInt()
                blocked.countDown()
                try {
                    r.next(n) // only half the frame ever arrives
                } catch (e: Throwable) {
                    readerError.set(e)
                }
            }
        }.use { srv ->
            val p = peer(srv.port)
            val out = DataOutputStream(p.getOutputStream())
            out.writeInt(1000)
            out.write(ByteArray(500))
            out.flush()
            blocked.await(5, TimeUnit.SECONDS).shouldBeTrue()
            awaitTrue("the server buffered the half frame") { srv.pool.bytesInUse() > 0 }
            Thread.sleep(50) // let the handler park in next(1000)
            p.setSoLinger(true, 0)
            p.close() // RST
            awaitTrue("close callbacks ran") { closeRuns.get() == 1 }
            cause.get().shouldBeInstanceOf<ConnectionResetException>()
            conn.get().closeCause().shouldBeInstanceOf<ConnectionResetException>()
            conn.get().isActive.shouldBeFalse()
            awaitTrue("the blocked reader was woken") { readerError.get() != null }
            readerError.get().shouldBeInstanceOf<ConnectionClosedException>()
            readerError.get()?.cause.shouldBeInstanceOf<ConnectionResetException>()
        }
    }

    test("a reset while reading is paused on a full input keeps every byte that came before it: the handler, once free, reads them in order, then ConnectionClosedException caused by ConnectionResetException") {
        // a pool handler busy elsewhere (not consuming) while the input fills to the cap; the rest of
        // what reached our kernel before the reset waits there, behind the reset
        val cause = AtomicReference<Any?>()
        val closeRuns = AtomicInteger()
        val busy = CountDownLatch(1)
        val seen = AtomicLong()
        val bad = AtomicInteger()
        val end = AtomicReference<Throwable?>()
        server(ConnTestKit.Exec.POOL) {
            maxInputBytes(256 shl 10)
            onPrepare { c -> c.addCloseCallback { cc -> closeRuns.incrementAndGet(); cause.set(cc.closeCause() ?: "none") } }
            onConnect { c ->
                busy.await(10, TimeUnit.SECONDS)
                end.set(readPatternToEnd(c.reader(), seen, bad))
            }
            onRequest { }
        }.use { srv ->
            val p = peer(srv.port)
            p.getOutputStream().write(ConnTestKit.pattern(0, 1 shl 20)) // past the cap: reading pauses
            awaitTrue("the server paused at the cap") { srv.pool.bytesInUse() >= 256 shl 10 }
            p.setSoLinger(true, 0)
            p.close() // RST: what the peer's kernel had not sent yet is gone, what ours holds is not
            Thread.sleep(100) // the reset reaches the paused connection, which must not drop its input
            busy.countDown()
            awaitTrue("the handler read to the end", ms = 5000) { end.get() != null }
            val e = end.get()
            e.shouldBeInstanceOf<ConnectionClosedException>()
            e.cause.shouldBeInstanceOf<ConnectionResetException>()
            bad.get() shouldBe 0
            (seen.get() >= 256 shl 10).shouldBeTrue() // at least the input that was paused at the cap
            awaitTrue("close callbacks ran", ms = 5000) { closeRuns.get() == 1 }
            cause.get().shouldBeInstanceOf<ConnectionResetException>()
            awaitTrue("its buffers went back") { srv.pool.bytesInUse() == 0L }
        }
    }

    test("a peer that floods an inline echo without reading, then resets, closes the connection paused on its queued output, with the reset as its cause") {
        val cause = AtomicReference<Any?>()
        val conn = AtomicReference<Connection>()
        server(ConnTestKit.Exec.INLINE) {
            recordClose(conn, cause)
            onRequest(ConnTestKit::rawEcho) // inline: it cannot wait, so reading pauses on queued output
        }.use { srv ->
            java.nio.channels.SocketChannel.open(java.net.InetSocketAddress("127.0.0.1", srv.port)).use { ch ->
                ch.configureBlocking(false)
                val chunk = java.nio.ByteBuffer.allocate(64 shl 10)
                awaitTrue("the connection") { conn.get() != null }
                val nc = conn.get() as NetConnection
                val end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
                // flood until the server's output is full and its reading paused (not until it seems
                // idle: a stalled poller would look idle before it paused)
                while (System.nanoTime() < end && nc.pauseBits and NetConnection.PAUSE_OUTPUT_FULL == 0) {
                    chunk.clear()
                    if (ch.write(chunk) == 0) Thread.sleep(1)
                }
                awaitTrue("reading paused on queued output") { nc.pauseBits and NetConnection.PAUSE_OUTPUT_FULL != 0 }
                ch.setOption(java.net.StandardSocketOptions.SO_LINGER, 0)
            } // RST
            awaitTrue("the connection closed") { cause.get() != null }
            cause.get().shouldBeInstanceOf<ConnectionResetException>()
            awaitTrue("its buffers went back") { srv.pool.bytesInUse() == 0L }
        }
    }

    test("bytes that came before a peer's reset are read first; the read at their end throws ConnectionClosedException caused by ConnectionResetException and closes the connection") {
        val busy = CountDownLatch(1)
        val reads = java.util.Collections.synchronizedList(ArrayList<Any?>())
        val conn = AtomicReference<Connection>()
        val cause = AtomicReference<Any?>()
        server(ConnTestKit.Exec.POOL) {
            recordClose(conn, cause)
            onRequest { c ->
                busy.await(10, TimeUnit.SECONDS) // the bytes stay unread until the poller has read the reset
                for (i in 0 until 2) {
                    reads.add(
                        try {
                            c.reader().readInt()
                        } catch (e: Throwable) {
                            e
                        },
                    )
                }
            }
        }.use { srv ->
            sendThenReset(srv, byteArrayOf(0, 0, 0, 42), conn)
            val nc = conn.get() as NetConnection
            nc.inputError().shouldBeInstanceOf<ConnectionResetException>()
            nc.isActive.shouldBeTrue() // its input is not read yet
            busy.countDown()
            awaitTrue("the handler read twice") { reads.size == 2 }
            reads[0] shouldBe 42
            endedByReset(reads[1], cause, srv)
            nc.closeCause().shouldBeInstanceOf<ConnectionResetException>()
        }
    }

    test("the connection's InputStream returns the bytes that came before a peer's reset, then throws ConnectionClosedException caused by it") {
        val busy = CountDownLatch(1)
        val conn = AtomicReference<Connection>()
        val got = java.io.ByteArrayOutputStream()
        val end = AtomicReference<Throwable?>()
        server(ConnTestKit.Exec.POOL) {
            onPrepare { c -> conn.set(c) }
            onConnect { c ->
                busy.await(10, TimeUnit.SECONDS)
                val inp = c.inputStream()
                val buf = ByteArray(3) // several reads: the stream hands the bytes out in pieces
                try {
                    while (true) {
                        val n = inp.read(buf)
                        if (n < 0) break
                        synchronized(got) { got.write(buf, 0, n) }
                    }
                    end.set(IllegalStateException("EOF instead of the reset"))
                } catch (e: Throwable) {
                    end.set(e)
                }
            }
            onRequest { }
        }.use { srv ->
            sendThenReset(srv, "hello, world".toByteArray(), conn)
            busy.countDown()
            awaitTrue("the stream ended") { end.get() != null }
            synchronized(got) { String(got.toByteArray()) } shouldBe "hello, world"
            val e = end.get()
            e.shouldBeInstanceOf<ConnectionClosedException>()
            e.cause.shouldBeInstanceOf<ConnectionResetException>()
            awaitTrue("its buffers went back") { srv.pool.bytesInUse() == 0L }
        }
    }

    test("a handler that leaves the bytes before a peer's reset unread still closes the connection, with the reset as its cause") {
        val busy = CountDownLatch(1)
        val conn = AtomicReference<Connection>()
        val cause = AtomicReference<Any?>()
        server(ConnTestKit.Exec.POOL) {
            recordClose(conn, cause)
            onRequest { c ->
                busy.await(10, TimeUnit.SECONDS)
                if (c.reader().len() < 8) return@onRequest // waits for a whole 8-byte message: never comes
                c.reader().skip(8)
            }
        }.use { srv ->
            sendThenReset(srv, byteArrayOf(1, 2, 3), conn)
            busy.countDown()
            awaitTrue("the connection closed") { cause.get() != null }
            cause.get().shouldBeInstanceOf<ConnectionResetException>()
            awaitTrue("its buffers went back") { srv.pool.bytesInUse() == 0L }
        }
    }

    test("close() from another thread wakes a handler blocked in next(n) with ConnectionClosedException") {
        val blocked = CountDownLatch(1)
        val readerError = AtomicReference<Throwable?>()
        val returned = CountDownLatch(1)
        val conn = AtomicReference<Connection>()
        val closeRuns = AtomicInteger()
        server(ConnTestKit.Exec.POOL) {
            onPrepare { c ->
                conn.set(c)
                c.addCloseCallback { closeRuns.incrementAndGet() }
            }
            onRequest { c ->
                blocked.countDown()
                try {
                    c.reader().next(1000)
                } catch (e: Throwable) {
                    readerError.set(e)
                }
                returned.countDown()
            }
        }.use { srv ->
            peer(srv.port).use { p ->
                p.getOutputStream().write(ByteArray(10))
                blocked.await(5, TimeUnit.SECONDS).shouldBeTrue()
                Thread.sleep(50) // let it park
                conn.get().close()
                returned.await(5, TimeUnit.SECONDS).shouldBeTrue()
                readerError.get().shouldBeInstanceOf<ConnectionClosedException>()
                p.getInputStream().read() shouldBe -1
                awaitTrue("close callback") { closeRuns.get() == 1 }
                conn.get().closeCause() shouldBe null
            }
        }
    }
})

/**
 * Reads [r] until a read fails, checking each byte against [ConnTestKit.patternByte] ([bad] counts
 * mismatches, [seen] every byte); returns what ended it.
 */
private fun readPatternToEnd(r: io.netpoll.buffer.Reader, seen: AtomicLong, bad: AtomicInteger): Throwable {
    try {
        while (true) {
            val n = if (r.len() > 0) r.len() else 1 // blocks for one byte when nothing is buffered
            val b = r.readBinary(n)
            r.release()
            for (x in b) {
                if (x != ConnTestKit.patternByte(seen.get())) bad.incrementAndGet()
                seen.incrementAndGet()
            }
        }
    } catch (e: Throwable) {
        return e
    }
}
