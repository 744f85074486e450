package io.netpoll.conn

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.ShutdownReport
import io.netpoll.conn.ConnTestKit.Exec
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.server
import java.io.DataInputStream
import java.io.DataOutputStream
import java.time.Duration
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference

/** Graceful shutdown: in-flight requests are answered, the report counts idle / drained / forced. */
class GracefulShutdownTest : FunSpec({
    /**
     * Handles one 4-byte request at a time, answering with the request plus one; each request waits
     * for [go] first (bounded), then takes [millis].
     */
    fun slowHandler(started: AtomicInteger, go: CountDownLatch, millis: Long) = io.netpoll.OnRequest { c ->
        val r = c.reader()
        while (r.len() >= 4) {
            val v = r.readInt()
            r.release()
            started.incrementAndGet()
            go.await(10, TimeUnit.SECONDS)
            Thread.sleep(millis)
            c.writer().writeInt(v + 1)
            c.writer().flush()
        }
    }

    fun shutdownAsync(srv: ConnTestKit.Server, grace: Duration): Pair<Thread, AtomicReference<ShutdownReport>> {
        val report = AtomicReference<ShutdownReport>()
        val t = Thread { report.set(srv.loop.shutdown(grace)) }.apply { start() }
        return t to report
    }

    test("requests in flight at shutdown all get their answers; the report counts idle and drained") {
        val inFlight = 12
        val idle = 8
        val perClient = 3
        val started = AtomicInteger()
        // the busy handlers wait until shutdown has counted them: with requests of fixed length, a test
        // thread slowed down on a loaded machine could let one connection finish all its requests
        // first, and it would count as idle
        val go = CountDownLatch(1)
        val srv = server(Exec.POOL, poolThreads = inFlight + 4) {
            onRequest(slowHandler(started, go, 50))
        }
        val busyPeers = (0 until inFlight).map { peer(srv.port) }
        val idlePeers = (0 until idle).map { peer(srv.port) }
        awaitTrue("all connections registered") { srv.loop.connections() == inFlight + idle }
        for ((i, p) in busyPeers.withIndex()) {
            val out = DataOutputStream(p.getOutputStream())
            repeat(perClient) { k -> out.writeInt(i * 100 + k) } // pipelined: all sent before shutdown
            out.flush()
        }
        awaitTrue("every handler has started its first request") { started.get() >= inFlight }
        Thread.sleep(50) // idle connections' first (empty) pass is long over
        val (stopper, report) = shutdownAsync(srv, Duration.ofSeconds(5))
        for (p in idlePeers) p.getInputStream().read() shouldBe -1 // closed at once, while the busy ones wait
        go.countDown()
        for ((i, p) in busyPeers.withIndex()) {
            val inp = DataInputStream(p.getInputStream())
            repeat(perClient) { k -> inp.readInt() shouldBe i * 100 + k + 1 }
            inp.read() shouldBe -1 // then the server closed it
        }
        stopper.join(10_000)
        val r = report.get()
        println("graceful shutdown report: $r")
        r.closedIdle shouldBe idle
        r.drained shouldBe inFlight
        r.forced shouldBe 0
        started.get() shouldBe inFlight * perClient
        srv.stop() shouldBe r
        (busyPeers + idlePeers).forEach { it.close() }
    }

    test("with a short grace a handler that blocks longer is forced; idle ones still count as idle") {
        val release = CountDownLatch(1)
        val entered = AtomicInteger()
        val srv = server(Exec.POOL) {
            onRequest { c ->
                c.reader().skip(1)
                c.reader().release()
                entered.incrementAndGet()
                release.await(10, TimeUnit.SECONDS) // far longer than the grace
            }
        }
        try {
            val busy = (0 until 3).map { peer(srv.port) }
            val quiet = (0 until 2).map { peer(srv.port) }
            awaitTrue("registered") { srv.loop.connections() == 5 }
            busy.forEach { it.getOutputStream().write(1) }
            awaitTrue("handlers blocked") { entered.get() == 3 }
            Thread.sleep(50)
            val t0 = System.nanoTime()
            val (stopper, report) = shutdownAsync(srv, Duration.ofMillis(200))
            stopper.join(10_000)
            val r = report.get()
            println("forced shutdown report: $r")
            (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5)).shouldBeTrue() // did not wait for the handlers
            r.forced shouldBe 3
            r.closedIdle shouldBe 2
            r.drained shouldBe 0
            // forced means closed: the peers see it now, not when the stuck handlers return
            (busy + quiet).forEach { it.soTimeout = 3000; it.getInputStream().read() shouldBe -1; it.close() }
        } finally {
            release.countDown()
            srv.stop()
        }
    }

    test("shutdown is idempotent and a second call returns the first report") {
        val srv = server(Exec.INLINE) { onRequest(ConnTestKit::rawEcho) }
        val p = peer(srv.port)
        awaitTrue("registered") { srv.loop.connections() == 1 }
        val first = srv.loop.shutdown(Duration.ofSeconds(1))
        val second = srv.loop.shutdown(Duration.ofSeconds(1))
        second shouldBe first
        first.closedIdle shouldBe 1
        srv.stop()
        p.getInputStream().read() shouldBe -1
        p.close()
    }

    test("a second shutdown while the first waits out its grace returns the first report; neither blocks the other; a connection whose handler closes it during the grace counts as drained") {
        val release = CountDownLatch(1)
        val entered = AtomicInteger()
        val srv = server(Exec.POOL) {
            onRequest { c ->
                val b = c.reader().readByte()
                c.reader().release()
                entered.incrementAndGet()
                if (b.toInt() == 2) {
                    Thread.sleep(100)
                    c.close() // busy at the first count, then closed by its handler
                } else {
                    release.await(10, TimeUnit.SECONDS)
                }
            }
        }
        try {
            val stuck = peer(srv.port)
            val closing = peer(srv.port)
            awaitTrue("registered") { srv.loop.connections() == 2 }
            stuck.getOutputStream().write(1)
            closing.getOutputStream().write(2)
            awaitTrue("handlers busy") { entered.get() == 2 }
            val (first, firstReport) = shutdownAsync(srv, Duration.ofMillis(500))
            Thread.sleep(50) // the first is inside its grace
            val (second, secondReport) = shutdownAsync(srv, Duration.ofMillis(500))
            first.join(10_000)
            second.join(10_000) // before: the second held the loop's lock while it waited, the first needed it
            secondReport.get() shouldBe firstReport.get()
            val r = firstReport.get()
            r.forced shouldBe 1
            r.drained shouldBe 1 // before: in no count
            r.closedIdle shouldBe 0
            stuck.close()
            closing.close()
        } finally {
            release.countDown()
            srv.stop()
        }
    }

    test("an inline handler's shutdown() throws IllegalStateException instead of stalling its poller; shutdownAsync() stops the loop, and the caller's connection is not forced") {
        val syncError = AtomicReference<Throwable?>()
        val async = AtomicReference<java.util.concurrent.CompletableFuture<ShutdownReport>>()
        lateinit var srv: ConnTestKit.Server
        srv = server(Exec.INLINE) {
            onRequest { c ->
                c.reader().readByte()
                c.reader().release()
                syncError.set(runCatching { srv.loop.shutdown(Duration.ofSeconds(5)) }.exceptionOrNull())
                async.set(srv.loop.shutdownAsync(Duration.ofSeconds(5)))
                c.writer().writeString("bye")
                c.writer().flush()
            }
        }
        peer(srv.port).use { p ->
            p.getOutputStream().write('Q'.code)
            awaitTrue("the handler ran") { async.get() != null }
            syncError.get().shouldBeInstanceOf<IllegalStateException>() // before: slept the poller for 5 s
            val r = async.get().get(10, TimeUnit.SECONDS)
            r.forced shouldBe 0
            (r.closedIdle + r.drained) shouldBe 1
            String(ConnTestKit.readFully(p.getInputStream(), 3)) shouldBe "bye"
            p.getInputStream().read() shouldBe -1
        }
        srv.stop() shouldBe async.get().get() // the same report
    }

    test("serve() after shutdown() closes the listener it was given and throws IllegalStateException") {
        val loop = io.netpoll.EventLoop.builder().executor(io.netpoll.HandlerExecutors.inline()).onRequest { }.build()
        loop.shutdown(Duration.ofSeconds(1))
        val l = io.netpoll.Listener.create("tcp", "127.0.0.1:0")
        shouldThrow<IllegalStateException> { loop.serve(l) }
        l.isClosed.shouldBeTrue() // before: left open, its port bound
        shouldThrow<java.net.ConnectException> { java.net.Socket("127.0.0.1", l.port()).close() }
    }

    test("a second shutdown() interrupted while the first waits out its grace still returns the first report and keeps the interrupt") {
        val release = CountDownLatch(1)
        val entered = AtomicInteger()
        val srv = server(Exec.POOL) {
            onRequest { c ->
                c.reader().readByte()
                c.reader().release()
                entered.incrementAndGet()
                release.await(10, TimeUnit.SECONDS)
            }
        }
        try {
            val p = peer(srv.port)
            p.getOutputStream().write(1)
            awaitTrue("the handler is busy") { entered.get() == 1 }
            val (first, firstReport) = shutdownAsync(srv, Duration.ofMillis(800))
            awaitTrue("the first shutdown is in its grace") { srv.listener.isClosed }
            val secondReport = AtomicReference<ShutdownReport?>()
            val keptInterrupt = AtomicReference<Boolean>()
            val second = Thread {
                secondReport.set(srv.loop.shutdown(Duration.ofMillis(800)))
                keptInterrupt.set(Thread.currentThread().isInterrupted)
            }.apply { start() }
            Thread.sleep(100)
            second.interrupt()
            first.join(10_000)
            second.join(10_000)
            secondReport.get() shouldBe firstReport.get() // before: null
            keptInterrupt.get() shouldBe true
            firstReport.get().forced shouldBe 1
            p.close()
        } finally {
            release.countDown()
            srv.stop()
        }
    }

    test("shutdown() in a callback that the shutdown itself runs (an inline onDisconnect) throws IllegalStateException instead of waiting for itself") {
        val inCallback = AtomicReference<Any?>()
        lateinit var srv: ConnTestKit.Server
        srv = server(Exec.INLINE) {
            onRequest(ConnTestKit::rawEcho)
            onDisconnect { _ ->
                inCallback.set(runCatching { srv.loop.shutdown(Duration.ofSeconds(1)) }.fold({ it }, { it }))
            }
        }
        peer(srv.port).use { _ ->
            awaitTrue("registered") { srv.loop.connections() == 1 }
            val (t, report) = shutdownAsync(srv, Duration.ofSeconds(1))
            t.join(10_000)
            t.isAlive shouldBe false // before: the callback waited for the shutdown that ran it, for ever
            inCallback.get().shouldBeInstanceOf<IllegalStateException>()
            report.get().closedIdle shouldBe 1
        }
        srv.stop()
    }
})
