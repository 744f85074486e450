package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.peer
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
                val r = c.reader()
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
                } catch (e: EofException) {
                    eof.set(e)
                }
                c.writer().writeString("got ${seen.get()}")
                c.writer().flush()
            }
            onRequest { }
        }.use { srv ->
            peer(srv.port).use { p ->
                val out = p.getOutputStream()
                out.write(ByteArray(total) { ConnTestKit.patternByte(it.toLong()) })
                p.shutdownOutput()
                val answer = String(ConnTestKit.readToEof(p)) // the answer, then EOF: the server closed
                answer shouldBe "got $total"
                eof.get().shouldBeInstanceOf<EofException>()
                bad.get() shouldBe 0
                awaitTrue("the server closed the connection and ran its close callback") { closeRuns.get() == 1 }
                srv.loop.connections() shouldBe 0
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

    test("the server's shutdownOutput sends EOF after its answer while it goes on reading") {
        val got = java.util.concurrent.ConcurrentLinkedQueue<String>()
        server(ConnTestKit.Exec.POOL) {
            onRequest { c ->
                val r = c.reader()
                val s = r.readString(r.len())
                r.release()
                got.add(s)
                if (s == "hello") {
                    c.writer().writeString("bye")
                    c.shutdownOutput()
                }
            }
        }.use { srv ->
            peer(srv.port).use { p ->
                p.getOutputStream().write("hello".toByteArray())
                String(ConnTestKit.readToEof(p)) shouldBe "bye" // the answer (flushed by shutdownOutput), then EOF
                p.getOutputStream().write("still there".toByteArray())
                awaitTrue("the server still reads") { got.size == 2 }
                got.toList() shouldBe listOf("hello", "still there")
                srv.loop.connections() shouldBe 1
            }
            awaitTrue("closed once the peer closed too") { srv.loop.connections() == 0 }
        }
    }

    test("a reset in the middle of a frame closes with ConnectionResetException and wakes the blocked reader") {
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
        }
    }

    test("a reset while reading is paused on a full input still closes the connection") {
        // a pool handler busy elsewhere (not consuming) while the input fills to the cap; an inline
        // handler cannot get here: one that consumes nothing at the cap is closed at once (InputCapTest)
        val cause = AtomicReference<Any?>()
        val closeRuns = AtomicInteger()
        val busy = java.util.concurrent.CountDownLatch(1)
        val disconnected = java.util.concurrent.atomic.AtomicBoolean()
        server(ConnTestKit.Exec.POOL) {
            maxInputBytes(256 shl 10)
            onDisconnect { disconnected.set(true) }
            onPrepare { c -> c.addCloseCallback { cc -> closeRuns.incrementAndGet(); cause.set(cc.closeCause() ?: "none") } }
            onRequest { busy.await(10, java.util.concurrent.TimeUnit.SECONDS) }
        }.use { srv ->
            val p = peer(srv.port)
            p.getOutputStream().write(ByteArray(1 shl 20)) // more than the input cap: reading pauses
            awaitTrue("the server paused at the cap") { srv.pool.bytesInUse() >= 256 shl 10 }
            Thread.sleep(100)
            p.setSoLinger(true, 0)
            p.close() // RST
            awaitTrue("the reset closed the paused connection", ms = 5000) { disconnected.get() }
            busy.countDown()
            awaitTrue("close callbacks ran", ms = 5000) { closeRuns.get() == 1 }
            cause.get().shouldBeInstanceOf<ConnectionResetException>()
            awaitTrue("its buffers went back") { srv.pool.bytesInUse() == 0L }
        }
    }

    test("a reset drops input not read yet: a later read throws ConnectionClosedException caused by ConnectionResetException") {
        val busy = CountDownLatch(1)
        val laterRead = AtomicReference<Any?>()
        val conn = AtomicReference<Connection>()
        server(ConnTestKit.Exec.POOL) {
            onPrepare { c -> conn.set(c) }
            onRequest { c ->
                busy.await(10, TimeUnit.SECONDS) // the bytes stay unread until the reset has closed
                laterRead.set(
                    try {
                        c.reader().readInt()
                    } catch (e: Throwable) {
                        e
                    },
                )
            }
        }.use { srv ->
            val p = peer(srv.port)
            p.getOutputStream().write(byteArrayOf(0, 0, 0, 42))
            p.getOutputStream().flush()
            awaitTrue("the server buffered the bytes") { srv.pool.bytesInUse() > 0 }
            p.setSoLinger(true, 0)
            p.close() // RST
            awaitTrue("the reset closed the connection") { conn.get()?.isActive == false }
            busy.countDown()
            awaitTrue("the handler read after the reset") { laterRead.get() != null }
            val e = laterRead.get()
            e.shouldBeInstanceOf<ConnectionClosedException>()
            e.cause.shouldBeInstanceOf<ConnectionResetException>()
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
