package io.netpoll.conn

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.core.test.Enabled
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.Dialer
import io.netpoll.HandlerExecutors
import io.netpoll.buffer.BufferPool
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.server
import io.netpoll.conn.ConnTestKit.withDialer
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.ConnectionRefusedException
import io.netpoll.error.DialTimeoutException
import io.netpoll.error.EofException
import io.netpoll.error.UnsupportedException
import io.netpoll.poll.LoadBalance
import io.netpoll.poll.PollerGroup
import java.net.Inet6Address
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.nio.channels.ServerSocketChannel
import java.nio.channels.SocketChannel
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference

/** Dialing: refused, timed out, unix paths and abstract names, IPv6 loopback. */
class DialTest : FunSpec({
    /** Sends one framed message and checks the echo. */
    fun roundTrip(c: Connection, msg: String) {
        c.writer().writeInt(msg.length)
        c.writer().writeString(msg)
        c.writer().flush()
        val n = c.reader().readInt()
        c.reader().readString(n) shouldBe msg
        c.reader().release()
    }

    val ipv6Loopback: String? = try {
        ServerSocket(0, 1, InetAddress.getByName("::1")).close()
        null
    } catch (e: Exception) {
        "IPv6 loopback ::1 is not usable here: $e"
    }

    test("dialing a port nobody listens on gives ConnectionRefusedException") {
        val port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort } // now closed
        withDialer { d ->
            shouldThrow<ConnectionRefusedException> { d.connect("tcp", "127.0.0.1:$port", Duration.ofSeconds(5)) }
        }
    }

    test("a unix path with a NUL in it is UnsupportedException caused by the path's error, not an untyped InvalidPathException") {
        withDialer { d ->
            val e = shouldThrow<UnsupportedException> { d.connect("unix", "/tmp/a\u0000b", null) }
            e.cause.shouldBeInstanceOf<java.nio.file.InvalidPathException>()
            e.message shouldBe "unsupported: unix address /tmp/a\\0b"
        }
    }

    test("addresses whose host or port Go's SplitHostPort refuses are UnsupportedException, before any lookup or socket") {
        withDialer { d ->
            for (bad in listOf("1::2:80", "fe80::8080", "[::1]", "127.0.0.1:+80", "127.0.0.1:", "127.0.0.1: 80", "127.0.0.1:65536")) {
                withClue(bad) { shouldThrow<UnsupportedException> { d.connect("tcp", bad, Duration.ofSeconds(5)) } }
            }
        }
    }

    test("dialing a listener whose backlog is full times out with DialTimeoutException") {
        withFullBacklog { port ->
            withDialer { d ->
                val t0 = System.nanoTime()
                shouldThrow<DialTimeoutException> { d.connect("tcp", "127.0.0.1:$port", Duration.ofMillis(300)) }
                (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5)) shouldBe true
            }
        }
    }

    test("closing the dialer's pollers while a connect with an endless timeout waits ends it with ConnectionClosedException; a connect after that throws it too") {
        withFullBacklog { port ->
            val group = PollerGroup("dial-close-test", 1, LoadBalance.ROUND_ROBIN)
            val exec = HandlerExecutors.boundedPool(1)
            try {
                val cfg = ConnConfig(exec, null, null, null, 0, 0, 0, ConnConfig.DEFAULT_MAX_INPUT, 0, BufferPool(1L shl 20))
                val d = Dialer.create(group, cfg)
                val outcome = AtomicReference<Throwable?>()
                // a timeout too long to count in nanoseconds is none (before: ArithmeticException at once)
                val forever = java.time.temporal.ChronoUnit.FOREVER.duration
                val t = Thread { outcome.set(runCatching { d.connect("tcp", "127.0.0.1:$port", forever) }.exceptionOrNull()) }
                t.isDaemon = true
                t.start()
                awaitTrue("the connect waits") { t.state == Thread.State.WAITING }
                group.close()
                t.join(ConnTestKit.WAIT_MS) // before: it waited for good
                outcome.get().shouldBeInstanceOf<ConnectionClosedException>()
                shouldThrow<ConnectionClosedException> { d.connect("tcp", "127.0.0.1:$port", null) }
            } finally {
                group.close()
                exec.shutdownNow()
            }
        }
    }

    for (kind in listOf("path", "abstract")) {
        test("a unix-domain listener and dial round-trip ($kind)") {
            val dir = Files.createTempDirectory("netpoll-unix")
            val address = if (kind == "path") dir.resolve("echo.sock").toString() else "@netpoll-test-${ProcessHandle.current().pid()}-${System.nanoTime()}"
            try {
                server(ConnTestKit.Exec.INLINE, network = "unix", address = address) {
                    onRequest(ConnTestKit::framedEcho)
                }.use { srv ->
                    if (kind == "path") Files.exists(dir.resolve("echo.sock")) shouldBe true
                    withDialer { d ->
                        d.connect("unix", address, Duration.ofSeconds(5)).use { c ->
                            repeat(50) { roundTrip(c, "unix $kind $it ".repeat(it + 1)) }
                        }
                    }
                    srv.stop()
                    if (kind == "path") Files.exists(dir.resolve("echo.sock")) shouldBe false // removed at close
                }
            } finally {
                Files.deleteIfExists(dir.resolve("echo.sock"))
                Files.delete(dir)
            }
        }
    }

    test("tcp6 listener and dial round-trip on ::1")
        .config(enabledOrReasonIf = { if (ipv6Loopback == null) Enabled.enabled else Enabled.disabled(ipv6Loopback).also { println("skipped: $ipv6Loopback") } }) {
            server(ConnTestKit.Exec.INLINE, network = "tcp6", address = "[::1]:0") {
                onRequest(ConnTestKit::framedEcho)
            }.use { srv ->
                withDialer { d ->
                    d.connect("tcp6", "[::1]:${srv.port}", Duration.ofSeconds(5)).use { c ->
                        (c.remoteAddress() as InetSocketAddress).address shouldBe InetAddress.getByName("::1")
                        ((c.localAddress() as InetSocketAddress).address is Inet6Address) shouldBe true
                        repeat(20) { roundTrip(c, "over ipv6 $it") }
                    }
                    // a tcp6 listener is IPv6-only: an IPv4 dial to its port is refused
                    shouldThrow<ConnectionRefusedException> { d.connect("tcp4", "127.0.0.1:${srv.port}", Duration.ofSeconds(5)) }
                }
            }
        }

    test("a dialed connection with setOnRequest gets pushed input on its handler and closes after the peer") {
        ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { ss ->
            ss.soTimeout = 5000
            withDialer { d ->
                val c = d.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5))
                val got = java.util.concurrent.LinkedBlockingQueue<String>()
                val closed = java.util.concurrent.CountDownLatch(1)
                c.addCloseCallback { closed.countDown() }
                c.setOnRequest { cc ->
                    val r = cc.reader()
                    got.add(r.readString(r.len()))
                    r.release()
                }
                ss.accept().use { s ->
                    s.getOutputStream().write("push1".toByteArray())
                    got.poll(5, TimeUnit.SECONDS) shouldBe "push1"
                    s.getOutputStream().write("push2".toByteArray())
                    got.poll(5, TimeUnit.SECONDS) shouldBe "push2"
                }
                closed.await(5, TimeUnit.SECONDS) shouldBe true
                c.isActive shouldBe false
            }
        }
    }

    test("bytes and FIN that reach a dialed socket before the dial returns are all read, then EOF") {
        // The server answers at once and closes: often before the dialer hands the socket over to
        // its connection, whose first read must then not stop at the short read of the greeting.
        ServerSocket(0, 128, InetAddress.getLoopbackAddress()).use { ss ->
            ss.soTimeout = 5000
            val acceptor = Thread {
                try {
                    while (true) {
                        ss.accept().use { s -> s.getOutputStream().write("hello".toByteArray()) }
                    }
                } catch (e: Exception) {
                    // closed at the end of the test
                }
            }.apply { isDaemon = true; start() }
            withDialer { d ->
                repeat(100) {
                    d.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5)).use { c ->
                        c.setReadTimeout(Duration.ofSeconds(3))
                        c.reader().readString(5) shouldBe "hello"
                        shouldThrow<EofException> { c.reader().readByte() }
                    }
                }
            }
            ss.close()
            acceptor.join(5000)
            awaitTrue("acceptor thread ended") { !acceptor.isAlive }
        }
    }
})

/**
 * Runs [body] with the port of a loopback listener that never accepts and whose accept queue is full:
 * the kernel drops further SYNs, so a connect to it neither completes nor fails (a loopback stand-in
 * for a non-routable address).
 */
private fun withFullBacklog(body: (Int) -> Unit) {
    ServerSocketChannel.open().use { ss ->
        ss.bind(InetSocketAddress("127.0.0.1", 0), 1)
        val port = (ss.localAddress as InetSocketAddress).port
        val fillers = ArrayList<SocketChannel>()
        try {
            var pending = false
            while (!pending && fillers.size < 64) {
                val ch = SocketChannel.open()
                ch.configureBlocking(false)
                fillers.add(ch)
                ch.connect(InetSocketAddress("127.0.0.1", port))
                val end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200)
                var done = false
                while (!done && System.nanoTime() - end < 0) {
                    done = ch.finishConnect()
                    if (!done) Thread.sleep(5)
                }
                pending = !done
            }
            pending shouldBe true
            body(port)
        } finally {
            fillers.forEach { it.close() }
        }
    }
}
