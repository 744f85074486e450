package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.Connection
import io.netpoll.buffer.BufferPool
import io.netpoll.conn.ConnTestKit.Exec
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.server
import java.io.DataOutputStream
import java.net.Socket
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger

/** Close callbacks run exactly once, newest first, however the connection closes; buffers all return. */
class CloseCallbackTest : FunSpec({
    class Rec(val conn: Connection) {
        val runs = Collections.synchronizedList(mutableListOf<String>())
        val disconnects = AtomicInteger()
    }

    for (exec in Exec.values()) {
        test("every close callback runs exactly once, newest first, whoever closes ($exec)") {
            val recs = CopyOnWriteArrayList<Rec>()
            val byConn = ConcurrentHashMap<Connection, Rec>()
            val srv = server(exec) {
                onPrepare { c ->
                    val r = Rec(c)
                    recs.add(r)
                    byConn[c] = r
                    c.addCloseCallback { r.runs.add("A") }
                    c.addCloseCallback { r.runs.add("B") }
                }
                onConnect { c -> byConn.getValue(c).let { r -> c.addCloseCallback { r.runs.add("C") } } }
                onDisconnect { c -> byConn.getValue(c).disconnects.incrementAndGet() }
                onRequest { c ->
                    val r = c.reader()
                    val b = r.readByte()
                    r.release()
                    when (b.toInt().toChar()) {
                        'c' -> c.close() // the server closes
                        'e' -> throw IllegalStateException("handler failure closes it")
                        else -> {
                            c.writer().writeByte(b)
                            c.writer().flush()
                        }
                    }
                }
            }
            val n = 60
            val peers = (0 until n).map { peer(srv.port) }
            for (p in peers) {
                p.getOutputStream().write('p'.code)
                p.getInputStream().read() shouldBe 'p'.code
            }
            awaitTrue("all accepted") { recs.size == n }
            val connOf = HashMap<Socket, Connection>()
            for (r in recs) connOf[peers.first { it.localPort == (r.conn.remoteAddress() as java.net.InetSocketAddress).port }] = r.conn
            val racers = ArrayList<Thread>()
            peers.forEachIndexed { i, p ->
                when (i % 6) {
                    0 -> p.close() // peer FIN
                    1 -> p.getOutputStream().write('c'.code) // server closes in its handler
                    2 -> { p.setSoLinger(true, 0); p.close() } // peer RST
                    3 -> p.getOutputStream().write('e'.code) // handler throws
                    4 -> { // both sides at once
                        val c = connOf.getValue(p)
                        racers.add(Thread { c.close() }.apply { start() })
                        p.close()
                    }
                    5 -> {} // left open: shutdown closes these
                }
            }
            racers.forEach { it.join(5000) }
            awaitTrue("all but the shutdown group closed") { recs.count { it.runs.size == 3 } == n - n / 6 }
            val report = srv.stop()
            report.closedIdle shouldBe n / 6
            awaitTrue("every connection's callbacks ran") { recs.all { it.runs.size == 3 } }
            // registered after close: runs at once, exactly once
            val late = AtomicInteger()
            for (r in recs) r.conn.addCloseCallback { late.incrementAndGet() }
            awaitTrue("late callbacks ran") { late.get() == n }
            Thread.sleep(100) // anything running twice would show up now
            for (r in recs) {
                r.runs.toList() shouldBe listOf("C", "B", "A")
                r.disconnects.get() shouldBe 1
                r.conn.isActive shouldBe false
            }
            late.get() shouldBe n
            peers.forEach { it.close() }
        }
    }

    test("a callback added while the connection is closing concurrently runs exactly once") {
        val conns = CopyOnWriteArrayList<Connection>()
        server(Exec.POOL) {
            onPrepare { c -> conns.add(c) }
            onRequest(ConnTestKit::rawEcho)
        }.use { srv ->
            val peers = (0 until 40).map { peer(srv.port) }
            awaitTrue("accepted") { conns.size == 40 }
            val counts = conns.map { AtomicInteger() }
            val threads = conns.mapIndexed { i, c ->
                Thread {
                    repeat(20) { c.addCloseCallback { counts[i].incrementAndGet() } }
                }.apply { start() } to Thread { c.close() }.apply { start() }
            }
            threads.forEach { (a, b) -> a.join(5000); b.join(5000) }
            awaitTrue("all callbacks ran") { counts.all { it.get() == 20 } }
            Thread.sleep(100)
            counts.map { it.get() } shouldBe List(40) { 20 }
            peers.forEach { it.close() }
        }
    }

    for (exec in Exec.values()) {
        test("buffer-pool accounting returns to zero after every connection closed ($exec)") {
            val pool = BufferPool(8L shl 20)
            val closed = AtomicInteger()
            val srv = server(exec, pool = pool) {
                onPrepare { c -> c.addCloseCallback { closed.incrementAndGet() } }
                onRequest { c ->
                    val r = c.reader()
                    if (r.len() >= 1 && r.peekByte(0) == 'B'.code.toByte()) {
                        // a big answer the peer never reads: output still queued at close
                        r.skip(1)
                        r.release()
                        c.writer().writeBinary(ByteArray(8 shl 20))
                        c.writer().flush()
                        return@onRequest
                    }
                    ConnTestKit.framedEcho(c)
                    // a view that may span chunks, never released: close must free it
                    if (r.len() >= 4) r.peek(minOf(r.len(), 100_000))
                }
            }
            val sizes = listOf(0, 1, 100, 1023, 1024, 4096, 65_535, 65_536, 65_537, 200_000)
            val peers = (0 until 12).map { peer(srv.port) }
            for ((i, p) in peers.withIndex()) {
                val out = DataOutputStream(p.getOutputStream())
                for (size in sizes) {
                    out.writeInt(size)
                    out.write(ByteArray(size) { (it + i).toByte() })
                }
                out.flush()
                val inp = java.io.DataInputStream(p.getInputStream())
                for (size in sizes) {
                    inp.readInt() shouldBe size
                    inp.skipNBytes(size.toLong())
                }
                when (i % 4) {
                    0 -> { out.writeInt(300_000); out.write(ByteArray(1000)); out.flush() } // half a frame left unread
                    1 -> { out.write('B'.code); out.flush() } // output queued, peer not reading
                    else -> {}
                }
            }
            awaitTrue("the server holds the half frames and queued output") { pool.bytesInUse() > 1_000_000 }
            for ((i, p) in peers.withIndex()) {
                if (i % 2 == 0) p.close() else { p.setSoLinger(true, 0); p.close() }
            }
            awaitTrue("close callbacks ran") { closed.get() == peers.size }
            awaitTrue("bytesInUse back to zero (now ${pool.bytesInUse()})") { pool.bytesInUse() == 0L }
            srv.stop()
            pool.bytesInUse() shouldBe 0L
        }
    }

    test("on a pool, close callbacks run after onDisconnect has returned, however long it takes") {
        val order = Collections.synchronizedList(mutableListOf<String>())
        val srv = server(Exec.POOL) {
            onPrepare { c -> c.addCloseCallback { order.add("close callback") } }
            onDisconnect { _ ->
                Thread.sleep(200) // before: the close callbacks ran meanwhile on another pool thread
                order.add("onDisconnect")
            }
            onRequest(ConnTestKit::rawEcho)
        }
        srv.use {
            peer(srv.port).close()
            awaitTrue("both ran") { order.size == 2 }
            order shouldBe listOf("onDisconnect", "close callback")
        }
    }

    test("a close callback that throws an Error does not keep the older ones from running") {
        val ran = Collections.synchronizedList(mutableListOf<String>())
        val srv = server(Exec.INLINE) {
            onPrepare { c ->
                c.addCloseCallback { ran.add("older") }
                c.addCloseCallback { throw AssertionError("callback bug") } // newer: runs first
            }
            onRequest(ConnTestKit::rawEcho)
        }
        srv.use {
            peer(srv.port).close()
            awaitTrue("the older callback ran") { ran.size == 1 } // before: skipped, the Error ended the loop
            awaitTrue("the loop's count is back to 0 (its own callback ran too)") { srv.loop.connections() == 0 }
        }
    }

    test("an executor that starts throwing something other than RejectedExecutionException closes the connection with that error, and runs its callbacks") {
        val closed = java.util.concurrent.atomic.AtomicReference<Throwable?>()
        val calls = AtomicInteger()
        // runs the connection's first pass, then can no longer run anything (as a pool out of threads)
        val broken = java.util.concurrent.Executor { r ->
            if (calls.getAndIncrement() == 0) r.run() else throw IllegalStateException("no thread for it")
        }
        val srv = server(Exec.INLINE) {
            executor(broken)
            onPrepare { c -> c.addCloseCallback { closed.set(c.closeCause() ?: Throwable("no cause")) } }
            onRequest(ConnTestKit::rawEcho)
        }
        srv.use {
            peer(srv.port).use { p ->
                awaitTrue("the first pass ran") { calls.get() == 1 }
                p.getOutputStream().write(1) // its pass cannot be dispatched
                p.getInputStream().read() shouldBe -1 // before: no pass ran, ever, and nothing closed it
                awaitTrue("the close callback ran") { closed.get() != null }
                (closed.get() is IllegalStateException) shouldBe true
            }
        }
    }

    test("an executor that queues a callback and then throws runs it once: onDisconnect and the close callbacks each run exactly once") {
        val pool = java.util.concurrent.Executors.newFixedThreadPool(2)
        val disconnects = AtomicInteger()
        val closes = AtomicInteger()
        val started = java.util.concurrent.CountDownLatch(1)
        // as ThreadPoolExecutor can when it queued a task and then failed to add a worker
        val flaky = java.util.concurrent.Executor { r ->
            pool.execute(r)
            if (started.count == 0L) throw IllegalStateException("queued, then failed")
        }
        try {
            val srv = server(Exec.INLINE) {
                executor(flaky)
                onConnect { _ -> started.countDown() }
                onDisconnect { _ -> disconnects.incrementAndGet() }
                onPrepare { c -> c.addCloseCallback { closes.incrementAndGet() } }
                onRequest(ConnTestKit::rawEcho)
            }
            srv.use {
                peer(srv.port).use { _ -> started.await(10, java.util.concurrent.TimeUnit.SECONDS) }
                awaitTrue("the connection left the count") { srv.loop.connections() == 0 }
                awaitTrue("the close callback ran") { closes.get() >= 1 }
                Thread.sleep(200) // a second run would come within this
                disconnects.get() shouldBe 1 // before: 2
                closes.get() shouldBe 1
            }
        } finally {
            pool.shutdownNow()
        }
    }
})
