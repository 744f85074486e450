package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.EventLoop
import io.netpoll.Listener
import io.netpoll.ShutdownReport
import io.netpoll.conn.ConnTestKit.Exec
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.server
import java.net.Socket
import java.time.Duration
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference

/** What a shutdown owes the callbacks (every one runs, in order; the grace covers every running handler), and closeWhenSent's bound. */
class ShutdownCallbacksTest : FunSpec({
    test("a forced shutdown of the loop's own pool still runs every onDisconnect queued behind the busy handlers") {
        val threads = io.netpoll.HandlerExecutors.defaultPoolSize()
        val entered = AtomicInteger()
        val disconnects = AtomicInteger()
        val hold = CountDownLatch(1)
        val loop = EventLoop.builder()
            .pollers(1)
            .bufferPool(io.netpoll.buffer.BufferPool(8L shl 20))
            .onRequest { c ->
                c.reader().skip(c.reader().len())
                c.reader().release()
                entered.incrementAndGet()
                hold.await(30, TimeUnit.SECONDS) // every pool thread: the forced shutdown interrupts it
            }
            .onDisconnect { disconnects.incrementAndGet() }
            .build() // no executor: the loop's own pool, which a forced shutdown stops with shutdownNow
        val listener = Listener.create("tcp", "127.0.0.1:0")
        val serving = Thread { loop.serve(listener) }.apply { isDaemon = true; start() }
        val peers = ArrayList<Socket>()
        try {
            repeat(threads) { peers += peer(listener.port()).apply { getOutputStream().write(1) } }
            awaitTrue("every pool thread is in a handler") { entered.get() == threads }
            repeat(4) { peers += peer(listener.port()) } // their first passes queue behind the busy threads
            awaitTrue("registered") { loop.connections() == threads + 4 }
            val r = loop.shutdown(Duration.ofMillis(300))
            println("forced shutdown report: $r")
            r.forced shouldBe threads + 4
            // before: the onDisconnect tasks still queued were dropped by shutdownNow, never to run
            awaitTrue("every onDisconnect ran (${disconnects.get()} of ${threads + 4})") { disconnects.get() == threads + 4 }
            awaitTrue("every connection's close callbacks ran") { loop.connections() == 0 }
        } finally {
            hold.countDown()
            peers.forEach { it.close() }
            serving.join(10_000)
        }
    }

    test("shutdown waits for a handler still running on a connection its peer reset, and counts it as drained") {
        val entered = CountDownLatch(1)
        val disconnected = CountDownLatch(1)
        val hold = CountDownLatch(1)
        val returned = AtomicBoolean()
        val srv = server(Exec.POOL) {
            onRequest { c ->
                c.reader().skip(c.reader().len())
                c.reader().release()
                entered.countDown()
                hold.await(10, TimeUnit.SECONDS)
                returned.set(true)
            }
            onDisconnect { disconnected.countDown() }
        }
        try {
            val p = peer(srv.port)
            p.getOutputStream().write(byteArrayOf(1, 2, 3, 4))
            entered.await(10, TimeUnit.SECONDS) shouldBe true
            p.setSoLinger(true, 0)
            p.close() // a reset: the connection closes while its handler runs on
            disconnected.await(10, TimeUnit.SECONDS) shouldBe true
            val report = AtomicReference<ShutdownReport>()
            val handlerDoneAtReturn = AtomicReference<Boolean>()
            val stopper = Thread {
                report.set(srv.loop.shutdown(Duration.ofSeconds(10)))
                handlerDoneAtReturn.set(returned.get())
            }.apply { start() }
            // in its grace loop (it sleeps between scans); before: it had returned at once, the
            // handler still running, and this timed out
            awaitTrue("the shutdown waits for the handler") { stopper.state == Thread.State.TIMED_WAITING }
            hold.countDown()
            stopper.join(15_000)
            handlerDoneAtReturn.get() shouldBe true
            report.get().drained shouldBe 1
            report.get().forced shouldBe 0
        } finally {
            hold.countDown()
            srv.stop()
        }
    }

    test("a handler set in onPrepare does not start onConnect before onPrepare has returned") {
        val seen = AtomicReference<Any?>("onConnect did not run")
        val srv = server(Exec.POOL) {
            onPrepare { c ->
                c.setOnRequest(ConnTestKit::rawEcho)
                Thread.sleep(200) // before: onConnect ran meanwhile, on the pool, beside this
                c.attach("prepared")
            }
            onConnect { c -> seen.set(c.attachment()) }
            onRequest(ConnTestKit::rawEcho)
        }
        try {
            peer(srv.port).use { p ->
                p.getOutputStream().write(7)
                p.getInputStream().read() shouldBe 7
                seen.get() shouldBe "prepared"
            }
        } finally {
            srv.stop()
        }
    }

    test("a shutdown during onPrepare closes that connection only after onPrepare and onConnect ran") {
        val events = Collections.synchronizedList(ArrayList<String>())
        val inPrepare = CountDownLatch(1)
        val srv = server(Exec.POOL) {
            onPrepare { _ ->
                events += "prepare"
                inPrepare.countDown()
                Thread.sleep(300) // the shutdown scans meanwhile
                events += "prepared"
            }
            onConnect { _ -> events += "connect" }
            onRequest(ConnTestKit::rawEcho)
            onDisconnect { _ -> events += "disconnect" }
        }
        try {
            peer(srv.port).use { p ->
                inPrepare.await(10, TimeUnit.SECONDS) shouldBe true
                val r = srv.stop(Duration.ofSeconds(5))
                p.getInputStream().read() shouldBe -1
                awaitTrue("onDisconnect ran") { events.contains("disconnect") }
                // before: [prepare, disconnect, prepared]: closed as idle before it had started
                events.toList() shouldBe listOf("prepare", "prepared", "connect", "disconnect")
                r.forced shouldBe 0
            }
        } finally {
            if (srv.report == null) srv.stop()
        }
    }

    test("closeWhenSent on a connection whose peer never reads closes it once the write timeout has passed") {
        val disconnected = CountDownLatch(1)
        val srv = server(Exec.POOL) {
            writeTimeout(Duration.ofMillis(200))
            writeQueueLimit(64L shl 20)
            onRequest { c ->
                c.reader().skip(c.reader().len())
                c.reader().release()
                c.writer().writeBinary(ByteArray(16 shl 20))
                c.writer().flush() // returns at once, most of it queued
                (c as NetConnection).closeWhenSent()
            }
            onDisconnect { disconnected.countDown() }
        }
        try {
            peer(srv.port) { receiveBufferSize = 64 * 1024 }.use { p ->
                p.getOutputStream().write(1) // and reads nothing
                // without the bound the queued bytes would hold it open for as long as the peer lives
                disconnected.await(10, TimeUnit.SECONDS) shouldBe true
            }
        } finally {
            srv.stop()
        }
    }
})
