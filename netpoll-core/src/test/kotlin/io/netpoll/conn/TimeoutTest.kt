package io.netpoll.conn

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.ints.shouldBeGreaterThanOrEqual
import io.kotest.matchers.longs.shouldBeGreaterThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.readFully
import io.netpoll.conn.ConnTestKit.server
import io.netpoll.conn.ConnTestKit.withDialedPair
import io.netpoll.conn.ConnTestKit.withDialer
import io.netpoll.error.IdleTimeoutException
import io.netpoll.poll.pendingTimersFromTest
import io.netpoll.error.ReadTimeoutException
import io.netpoll.error.WriteTimeoutException
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.ByteBuffer
import java.time.Duration
import java.time.Instant
import java.util.concurrent.ArrayBlockingQueue
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.atomic.AtomicReference

/** Read timeout, read deadline, write timeout and deadline, idle timeout: each on real sockets. */
class TimeoutTest : FunSpec({
    /** A byte echoed through [peer] every 50 ms for [millis]; returns how many. */
    fun echoEvery50ms(peer: Socket, millis: Long): Int {
        val end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis)
        var i = 0
        while (System.nanoTime() - end < 0) {
            peer.getOutputStream().write(i and 0x7f)
            peer.getInputStream().read() shouldBe (i and 0x7f)
            i++
            Thread.sleep(50)
        }
        return i
    }

    test("timeouts and deadlines too long to count in nanoseconds (ChronoUnit.FOREVER, Instant.MAX) are none: a read waits on for its bytes") {
        val outcome = AtomicReference<Any?>()
        server(ConnTestKit.Exec.POOL) {
            readTimeout(java.time.temporal.ChronoUnit.FOREVER.duration)
            onConnect { c ->
                outcome.set(
                    runCatching {
                        c.setReadTimeout(java.time.temporal.ChronoUnit.FOREVER.duration) // before: ArithmeticException
                        c.setWriteTimeout(Duration.ofSeconds(Long.MAX_VALUE))
                        c.setIdleTimeout(java.time.temporal.ChronoUnit.FOREVER.duration)
                        c.setReadDeadline(Instant.MAX) // before: ArithmeticException
                        c.setWriteDeadline(Instant.MAX)
                        c.reader().readInt()
                    }.fold({ it }, { it }),
                )
            }
            onRequest { }
        }.use { srv ->
            peer(srv.port).use { p ->
                Thread.sleep(100) // the handler set its timeouts and waits
                outcome.get() shouldBe null
                p.getOutputStream().write(byteArrayOf(0, 0, 1, 2))
                awaitTrue("the read returned") { outcome.get() != null }
                outcome.get() shouldBe 258
            }
        }
    }

    test("a blocking read in a pool handler times out with ReadTimeoutException and the connection stays usable") {
        val timeouts = AtomicInteger()
        val frames = ArrayBlockingQueue<ByteArray>(4)
        server(ConnTestKit.Exec.POOL) {
            readTimeout(Duration.ofMillis(200))
            onRequest { c ->
                try {
                    val view = c.reader().next(100)
                    val b = ByteArray(100).also { view.get(it) }
                    c.reader().release()
                    frames.add(b)
                    c.writer().writeString("OK")
                    c.writer().flush()
                } catch (e: ReadTimeoutException) {
                    timeouts.incrementAndGet() // nothing consumed; runs again when more bytes arrive
                }
            }
        }.use { srv ->
            peer(srv.port).use { p ->
                p.getOutputStream().write(ByteArray(10) { it.toByte() })
                awaitTrue("a ReadTimeoutException") { timeouts.get() >= 1 }
                p.getOutputStream().write(ByteArray(90) { (10 + it).toByte() })
                String(readFully(p.getInputStream(), 2)) shouldBe "OK"
                frames.poll(5, TimeUnit.SECONDS)!!.toList() shouldBe List(100) { it.toByte() }
            }
        }
    }

    test("an absolute read deadline fails a blocked read when it passes, and a past one fails at once") {
        ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()).use { ss ->
            withDialer { dialer ->
                dialer.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5)).use { c ->
                    ss.soTimeout = 5000
                    ss.accept().use { s ->
                        s.getOutputStream().write(ByteArray(5) { 7 })
                        val deadline = Instant.now().plusMillis(300)
                        c.setReadDeadline(deadline)
                        shouldThrow<ReadTimeoutException> { c.reader().next(10) }
                        Instant.now().isBefore(deadline.minusMillis(20)) shouldBe false
                        c.reader().len() shouldBe 5 // nothing consumed
                        c.reader().readBinary(5).toList() shouldBe List(5) { 7.toByte() } // buffered bytes still read
                        c.reader().release()

                        c.setReadDeadline(Instant.now().minusSeconds(1))
                        // at once, not after waiting for a byte: on another thread, so that a read that
                        // ignored the past deadline fails here after 10 s instead of blocking the suite
                        val past = java.util.concurrent.CompletableFuture.supplyAsync {
                            runCatching { c.reader().readByte() }.exceptionOrNull()
                        }
                        past.get(10, TimeUnit.SECONDS).shouldBeInstanceOf<ReadTimeoutException>()

                        c.setReadDeadline(null)
                        s.getOutputStream().write(byteArrayOf(42))
                        c.reader().readByte() shouldBe 42.toByte()
                        c.isActive.shouldBeTrue()
                    }
                }
            }
        }
    }

    test("a past read deadline set before any read fails the first wait at once and clears again") {
        val results = CopyOnWriteArrayList<String>()
        server(ConnTestKit.Exec.POOL) {
            onPrepare { c -> c.setReadDeadline(Instant.now().minusMillis(1)) }
            onRequest { c ->
                try {
                    c.reader().next(2)
                    results.add("read")
                } catch (e: ReadTimeoutException) {
                    results.add("timeout")
                    c.setReadDeadline(null)
                    c.reader().skip(2) // waits for the second byte now
                    c.reader().release()
                    results.add("read after clear")
                }
            }
        }.use { srv ->
            peer(srv.port).use { p ->
                p.getOutputStream().write(1)
                awaitTrue("timeout on the first read") { results.isNotEmpty() }
                p.getOutputStream().write(2)
                awaitTrue("read after clearing the deadline") { results.size == 2 }
                results shouldBe listOf("timeout", "read after clear")
            }
        }
    }

    test("a write timeout on flush to a peer that never reads gives WriteTimeoutException and the queue is still sent") {
        val total = 16 shl 20
        val outcome = AtomicReference<Throwable?>()
        val done = java.util.concurrent.CountDownLatch(1)
        server(ConnTestKit.Exec.POOL) {
            writeTimeout(Duration.ofMillis(300))
            onConnect { c ->
                val big = ByteBuffer.allocateDirect(total)
                for (i in 0 until total) big.put(i, ConnTestKit.patternByte(i.toLong()))
                c.writer().writeDirect(big)
                try {
                    c.writer().flush()
                } catch (e: Throwable) {
                    outcome.set(e)
                }
                done.countDown()
            }
            onRequest { }
        }.use { srv ->
            peer(srv.port) { receiveBufferSize = 4096 }.use { p ->
                done.await(10, TimeUnit.SECONDS).shouldBeTrue()
                outcome.get().shouldBeInstanceOf<WriteTimeoutException>()
                // the peer starts reading: every queued byte still arrives, in order
                val check = ConnTestKit.PatternCheck()
                while (check.got < total && check.read(p.getInputStream()) >= 0) { /* to the end */ }
                check.got shouldBe total.toLong()
                check.bad shouldBe 0
            }
        }
    }

    test("a write deadline on a dialed connection's flush gives WriteTimeoutException; the connection stays open") {
        ServerSocket().use { ss ->
            ss.receiveBufferSize = 4096 // accepted sockets inherit it; the peer never reads
            ss.bind(InetSocketAddress("127.0.0.1", 0))
            ss.soTimeout = 5000
            withDialer { dialer ->
                dialer.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5)).use { c ->
                    ss.accept().use { s ->
                        val big = ByteBuffer.allocateDirect(16 shl 20)
                        c.writer().writeDirect(big)
                        val deadline = Instant.now().plusMillis(300)
                        c.setWriteDeadline(deadline)
                        shouldThrow<WriteTimeoutException> { c.writer().flush() }
                        Instant.now().isBefore(deadline.minusMillis(20)) shouldBe false
                        c.isActive.shouldBeTrue()
                        // clearing the deadline lets a later flush wait until the peer took everything
                        c.setWriteDeadline(null)
                        val drained = AtomicLong()
                        val reader = Thread {
                            val inp = s.getInputStream()
                            val b = ByteArray(1 shl 16)
                            while (drained.get() < (16 shl 20)) {
                                val n = inp.read(b)
                                if (n < 0) break
                                drained.addAndGet(n.toLong())
                            }
                        }.apply { start() }
                        c.writer().flush()
                        reader.join(ConnTestKit.WAIT_MS)
                        drained.get() shouldBe (16L shl 20)
                    }
                }
            }
        }
    }

    test("deadlines set from another thread while a read or a flush waits apply to that wait") {
        ServerSocket().use { ss ->
            ss.receiveBufferSize = 4096 // the peer never reads: the flush waits
            ss.bind(InetSocketAddress("127.0.0.1", 0))
            ss.soTimeout = 5000
            withDialer { dialer ->
                dialer.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5)).use { c ->
                    ss.accept().use { _ ->
                        val readError = AtomicReference<Throwable?>()
                        val reader = Thread {
                            try { c.reader().next(1) } catch (e: Throwable) { readError.set(e) }
                        }.apply { start() }
                        Thread.sleep(100) // parked, no deadline yet
                        c.setReadDeadline(Instant.now().plusMillis(200))
                        reader.join(5000)
                        readError.get().shouldBeInstanceOf<ReadTimeoutException>()

                        val writeError = AtomicReference<Throwable?>()
                        val writer = Thread {
                            try {
                                c.writer().writeDirect(ByteBuffer.allocateDirect(16 shl 20))
                                c.writer().flush()
                            } catch (e: Throwable) { writeError.set(e) }
                        }.apply { start() }
                        Thread.sleep(200) // waiting for room, no deadline yet
                        writer.isAlive.shouldBeTrue()
                        c.setWriteDeadline(Instant.now().plusMillis(200))
                        writer.join(5000)
                        writer.isAlive shouldBe false
                        writeError.get().shouldBeInstanceOf<WriteTimeoutException>()
                        c.isActive.shouldBeTrue()
                    }
                }
            }
        }
    }

    test("a read timeout still bounds a wait whose absolute read deadline another thread moves later meanwhile") {
        withDialedPair { c, s ->
            c.setReadTimeout(Duration.ofMillis(500))
            val readError = AtomicReference<Throwable?>()
            val reader = Thread {
                try { c.reader().next(1) } catch (e: Throwable) { readError.set(e) }
            }.apply { start() }
            awaitTrue("the read waits") { (c as NetConnection).pollDesc().rg.hasWaiter() }
            c.setReadDeadline(Instant.now().plusSeconds(3600)) // before: replaced the wait's 500 ms
            reader.join(10_000)
            reader.isAlive shouldBe false
            readError.get().shouldBeInstanceOf<ReadTimeoutException>()
            c.setReadTimeout(null) // the connection stays usable
            s.getOutputStream().write(byteArrayOf(9))
            c.reader().readByte() shouldBe 9.toByte()
            c.isActive.shouldBeTrue()
        }
    }

    test("a second blocking read while one waits gets ConcurrentAccessException and leaves the first's timeout and size alone") {
        withDialedPair { c, s ->
            val conn = c as NetConnection
            c.setReadTimeout(Duration.ofSeconds(3)) // outlasts a stalled test thread between its steps
            val big = conn.config.maxInputBytes() + 1000 // a wait past the input cap
            val readError = AtomicReference<Throwable?>()
            val reader = Thread {
                try { c.reader().next(big) } catch (e: Throwable) { readError.set(e) }
            }.apply { start() }
            awaitTrue("the first read waits") { conn.pollDesc().rg.hasWaiter() }
            shouldThrow<io.netpoll.error.ConcurrentAccessException> { c.reader().readByte() }
            conn.waitSize shouldBe big // before: the second read's failure reset it to 0
            reader.join(10_000) // before: the second read's failure removed the first's timeout
            reader.isAlive shouldBe false
            readError.get().shouldBeInstanceOf<ReadTimeoutException>()
            conn.waitSize shouldBe 0
            s.getOutputStream().write(byteArrayOf(5))
            c.reader().readByte() shouldBe 5.toByte()
        }
    }

    test("idle timeout closes a silent connection with IdleTimeoutException but not one with steady traffic") {
        val causes = ConcurrentHashMap<Int, Any>()
        val ports = AtomicInteger()
        server(ConnTestKit.Exec.INLINE) {
            idleTimeout(Duration.ofMillis(3000)) // long against the 50 ms echoes: a test thread slowed for 2 s keeps it
            onPrepare { c ->
                val remotePort = (c.remoteAddress() as InetSocketAddress).port
                ports.incrementAndGet()
                c.addCloseCallback { cc -> causes[remotePort] = cc.closeCause() ?: "normal" }
            }
            onRequest(ConnTestKit::rawEcho)
        }.use { srv ->
            val silent = peer(srv.port)
            val busy = peer(srv.port)
            val i = echoEvery50ms(busy, 4000)
            silent.getInputStream().read() shouldBe -1 // closed by the server
            awaitTrue("the silent connection's close callback") { causes.containsKey(silent.localPort) }
            causes[silent.localPort].shouldBeInstanceOf<IdleTimeoutException>()
            causes.containsKey(busy.localPort) shouldBe false
            awaitTrue("the silent connection left the loop") { srv.loop.connections() == 1 } // its callback may run first
            i shouldBeGreaterThanOrEqual 10
            busy.close()
            silent.close()
        }
    }

    test("an idle timeout set on a connection that ran without one counts from the call, then from its traffic") {
        val conn = AtomicReference<Connection>()
        val cause = AtomicReference<Any>()
        server(ConnTestKit.Exec.INLINE) {
            onPrepare { c ->
                conn.set(c)
                c.addCloseCallback { cc -> cause.set(cc.closeCause() ?: "normal") }
            }
            onRequest(ConnTestKit::rawEcho)
        }.use { srv ->
            val p = peer(srv.port)
            awaitTrue("the connection") { conn.get() != null }
            // traffic while no idle timeout is set: nothing is stamped for it
            repeat(10) { i ->
                p.getOutputStream().write(i)
                p.getInputStream().read() shouldBe i
                Thread.sleep(200)
            }
            conn.get().setIdleTimeout(Duration.ofMillis(3000))
            // half the timeout in silence: an idle count from before the call (2 s of traffic, no
            // stamp) would have closed it; margins of 1.5 s either way for a slowed test thread
            Thread.sleep(1500)
            cause.get() shouldBe null
            // traffic every 50 ms for 4 s keeps it open
            echoEvery50ms(p, 4000)
            cause.get() shouldBe null
            // then silence: closed for being idle
            p.getInputStream().read() shouldBe -1
            awaitTrue("the close callback") { cause.get() != null }
            cause.get().shouldBeInstanceOf<IdleTimeoutException>()
            p.close()
        }
    }

    test("a shorter idle timeout set on a connection replaces the longer one in force") {
        val conn = AtomicReference<Connection>()
        server(ConnTestKit.Exec.INLINE) {
            idleTimeout(Duration.ofHours(1))
            onPrepare { c -> conn.set(c) }
            onRequest(ConnTestKit::rawEcho)
        }.use { srv ->
            val p = peer(srv.port)
            p.getOutputStream().write(1)
            p.getInputStream().read() shouldBe 1 // the connection runs, its hour-long idle timer armed
            conn.get().setIdleTimeout(Duration.ofMillis(200))
            p.getInputStream().read() shouldBe -1 // closed for being idle, long before the hour
            p.close()
        }
    }

    test("a closed connection's idle timer leaves the poller's timer wheel at once") {
        val conn = AtomicReference<NetConnection>()
        server(ConnTestKit.Exec.INLINE) {
            idleTimeout(Duration.ofHours(1))
            onPrepare { c -> conn.set(c as NetConnection) }
            onRequest(ConnTestKit::rawEcho)
        }.use { srv ->
            val p = peer(srv.port)
            p.getOutputStream().write(1)
            p.getInputStream().read() shouldBe 1
            val poller = conn.get().poller()
            val armed = poller.pendingTimersFromTest()
            (armed >= 1) shouldBe true
            conn.get().close() // from this thread: the wheel drops the cancelled timer at its next tick
            p.getInputStream().read() shouldBe -1
            awaitTrue("the idle timer left the wheel") { poller.pendingTimersFromTest() == armed - 1 }
            p.close()
        }
    }
})
