package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.conn.ConnTestKit.Exec
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.rawEcho
import io.netpoll.conn.ConnTestKit.readFully
import io.netpoll.conn.ConnTestKit.server
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong

/**
 * netpoll's processing rule on real sockets: Prepare, Connect, then Request; never two onRequest at
 * once on one connection; no input stranded when it races the end of a handler; no spinning on
 * unconsumed input; a failing handler closes its own connection and nothing else.
 */
class CallbackOrderTest : FunSpec({
    for (exec in Exec.values()) {
        test("callbacks run Prepare, Connect, then Request on every connection ($exec)") {
            val logs = CopyOnWriteArrayList<MutableList<String>>()
            server(exec) {
                onPrepare { c -> c.attach(Collections.synchronizedList(mutableListOf("prepare"))); @Suppress("UNCHECKED_CAST") logs.add(c.attachment() as MutableList<String>) }
                onConnect { c -> @Suppress("UNCHECKED_CAST") (c.attachment() as MutableList<String>).add("connect") }
                onRequest { c ->
                    @Suppress("UNCHECKED_CAST") (c.attachment() as MutableList<String>).add("request")
                    rawEcho(c)
                }
            }.use { srv ->
                val peers = (1..20).map { peer(srv.port) }
                for ((i, p) in peers.withIndex()) {
                    p.getOutputStream().write(byteArrayOf(i.toByte()))
                }
                for ((i, p) in peers.withIndex()) {
                    p.getInputStream().read() shouldBe i
                }
                logs.size shouldBe 20
                for (log in logs) {
                    synchronized(log) { log.distinct() } shouldBe listOf("prepare", "connect", "request")
                    synchronized(log) { log.take(2) } shouldBe listOf("prepare", "connect")
                }
                peers.forEach { it.close() }
            }
        }

        test("onRequest never runs twice at once and every byte of racing small writes is handled ($exec)") {
            val conns = 8
            val perConn = 20_000
            val overlaps = AtomicInteger()
            val misordered = AtomicInteger()
            val handled = ConcurrentHashMap<Connection, AtomicLong>()
            val busy = ConcurrentHashMap<Connection, AtomicBoolean>()
            server(exec) {
                onPrepare { c ->
                    handled[c] = AtomicLong()
                    busy[c] = AtomicBoolean()
                }
                onRequest { c ->
                    val flag = busy.getValue(c)
                    if (!flag.compareAndSet(false, true)) overlaps.incrementAndGet()
                    try {
                        val count = handled.getValue(c)
                        val r = c.reader()
                        val n = r.len()
                        val bytes = r.readBinary(n)
                        r.release()
                        for (b in bytes) {
                            if (b != (count.get() % 251).toByte()) misordered.incrementAndGet()
                            count.incrementAndGet()
                        }
                        // widen the window in which new bytes arrive while the handler is finishing
                        if (exec == Exec.POOL) repeat(200) { Thread.onSpinWait() }
                    } finally {
                        flag.set(false)
                    }
                }
            }.use { srv ->
                val peers = (1 until conns + 1).map { peer(srv.port) }
                val writers = peers.map { p ->
                    Thread {
                        val out = p.getOutputStream()
                        var i = 0
                        while (i < perConn) {
                            // 1 to 3 bytes per write: many tiny segments racing the handler's finish
                            val k = minOf(perConn - i, 1 + i % 3)
                            out.write(ByteArray(k) { ((i + it) % 251).toByte() })
                            i += k
                        }
                    }.apply { start() }
                }
                writers.forEach { it.join(ConnTestKit.WAIT_MS) }
                writers.forEach { it.isAlive shouldBe false }
                awaitTrue("all ${conns * perConn} bytes handled (stranded data otherwise)") {
                    handled.size == conns && handled.values.all { it.get() == perConn.toLong() }
                }
                overlaps.get() shouldBe 0
                misordered.get() shouldBe 0
                peers.forEach { it.close() }
            }
        }

        test("the rest of a frame that arrives while onRequest returns empty-handed is not stranded ($exec)") {
            // The handler sees half a frame, takes a moment, and returns without consuming; the other
            // half arrives meanwhile. Only the re-check after the pass unlocks can pick it up: the
            // peer sends nothing more until it is answered.
            val conns = 4
            val rounds = 150
            server(exec) {
                onRequest { c ->
                    val r = c.reader()
                    var answered = false
                    while (r.len() >= 4 && r.len() >= 4 + r.peek(4).getInt(0)) {
                        val n = r.readInt()
                        r.skip(n)
                        r.release()
                        c.writer().writeByte(1)
                        answered = true
                    }
                    if (answered) c.writer().flush()
                    if (r.len() > 0 && exec == Exec.POOL) Thread.sleep(3) // the rest arrives now
                }
            }.use { srv ->
                val stalls = AtomicInteger()
                val peers = (0 until conns).map { peer(srv.port) }
                val threads = peers.map { p ->
                    Thread {
                        val out = p.getOutputStream()
                        val inp = p.getInputStream()
                        val frame = java.nio.ByteBuffer.allocate(12).putInt(8).putLong(42).array()
                        for (i in 0 until rounds) {
                            out.write(frame, 0, 6)
                            Thread.sleep(1)
                            out.write(frame, 6, 6)
                            try {
                                inp.read()
                            } catch (e: java.net.SocketTimeoutException) {
                                stalls.incrementAndGet()
                                return@Thread
                            }
                        }
                    }.apply { start() }
                }
                threads.forEach { it.join(60_000) }
                stalls.get() shouldBe 0
                peers.forEach { it.close() }
            }
        }

        test("an onRequest that consumes nothing does not spin and runs again on new input ($exec)") {
            val calls = AtomicInteger()
            server(exec) {
                onRequest { _ -> calls.incrementAndGet() }
            }.use { srv ->
                peer(srv.port).use { p ->
                    p.getOutputStream().write(ByteArray(10))
                    awaitTrue("first onRequest") { calls.get() >= 1 }
                    Thread.sleep(300)
                    val afterFirst = calls.get()
                    afterFirst shouldBeLessThanOrEqual 2
                    p.getOutputStream().write(ByteArray(10))
                    awaitTrue("onRequest runs again on more input") { calls.get() > afterFirst }
                    Thread.sleep(300)
                    calls.get() shouldBeLessThanOrEqual afterFirst + 2
                }
            }
        }

        test("an exception from onRequest closes only that connection and runs its close callbacks ($exec)") {
            val causes = ConcurrentHashMap<Connection, Throwable>()
            val callbackRuns = AtomicInteger()
            val closedNormally = AtomicInteger()
            server(exec) {
                onPrepare { c ->
                    c.addCloseCallback { cc ->
                        val cause = cc.closeCause()
                        if (cause != null) causes[cc] = cause else closedNormally.incrementAndGet()
                        callbackRuns.incrementAndGet() // last: a test that sees it sees the rest
                    }
                }
                onRequest { c ->
                    if (c.reader().peekByte(0) == 'X'.code.toByte()) throw IllegalArgumentException("boom")
                    rawEcho(c)
                }
            }.use { srv ->
                val good = peer(srv.port)
                val bad = peer(srv.port)
                good.getOutputStream().write("hi".toByteArray())
                String(readFully(good.getInputStream(), 2)) shouldBe "hi"
                bad.getOutputStream().write("X".toByteArray())
                bad.getInputStream().read() shouldBe -1 // the server closed it
                awaitTrue("close callback of the failed connection") { callbackRuns.get() == 1 }
                causes.size shouldBe 1
                causes.values.single().shouldBeInstanceOf<IllegalArgumentException>().message shouldBe "boom"
                good.getOutputStream().write("again".toByteArray())
                String(readFully(good.getInputStream(), 5)) shouldBe "again"
                awaitTrue("the failed connection left the loop") { srv.loop.connections() == 1 } // its callback may run first
                good.close()
                bad.close()
                awaitTrue("the good connection's close callback") { callbackRuns.get() == 2 }
                closedNormally.get() shouldBe 1
                callbackRuns.get() shouldBeGreaterThan 0
            }
        }
    }
})
