package io.netpoll.coroutines

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.coroutines.CoTestKit.QuietCancellation
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.launchCatching
import io.netpoll.coroutines.CoTestKit.launchNow
import io.netpoll.coroutines.CoTestKit.openSockets
import io.netpoll.conn.Addresses
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.ConnectionRefusedException
import io.netpoll.error.DialTimeoutException
import io.netpoll.error.SyscallException
import io.netpoll.sys.Errno
import io.netpoll.poll.PollerThread
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.io.IOException
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.SocketTimeoutException
import java.net.StandardProtocolFamily
import java.net.UnixDomainSocketAddress
import java.nio.channels.ServerSocketChannel
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicReference
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * The client: dialing tcp and unix, the typed refused and timeout errors, cancelling a dial closes
 * its half-open socket, and closing a client of its own closes its connections.
 */
class CoClientTest : FunSpec({
    timeout = 90_000L

    /** Runs an echo-lines server on [network]/[address] for [body]. */
    suspend fun CoroutineScope.withEchoServer(network: String, address: String, body: suspend (NetpollServer) -> Unit) {
        val server = netpollServer {
            listen(network, address)
            pollers = 1
            handle { conn ->
                while (true) {
                    val line = conn.readLine() ?: break
                    conn.output.writeString("echo $line\n")
                    conn.flush()
                }
            }
        }
        try {
            body(server)
        } finally {
            server.shutdown(2.seconds)
        }
    }

    /**
     * A loopback listener with a backlog of 1 that never accepts, its queue filled by JDK sockets
     * until a connect hangs: further connects stay in SYN-SENT (the kernel drops their SYNs).
     */
    class FullBacklog : AutoCloseable {
        val listener = ServerSocket(0, 1, InetAddress.getLoopbackAddress())
        private val fillers = mutableListOf<Socket>()
        val address: String get() = "127.0.0.1:${listener.localPort}"

        init {
            var hung = false
            for (i in 0 until 64) {
                val s = Socket()
                try {
                    s.connect(InetSocketAddress("127.0.0.1", listener.localPort), 300)
                    fillers += s
                } catch (e: SocketTimeoutException) {
                    s.close()
                    hung = true
                    break
                }
            }
            check(hung) { "connects to a backlog-1 listener never hung (${fillers.size} went through)" }
        }

        override fun close() {
            fillers.forEach { it.close() }
            listener.close()
        }
    }

    test("dial(\"tcp\", ...) connects to a server and exchanges lines, with the addresses of both ends") {
        coTest {
            withEchoServer("tcp", "127.0.0.1:0") { server ->
                val port = (server.address as InetSocketAddress).port
                dial("tcp", "127.0.0.1:$port").use { c ->
                    (c.remoteAddress as InetSocketAddress).port shouldBe port
                    (c.localAddress as InetSocketAddress).address.isLoopbackAddress.shouldBeTrue()
                    repeat(3) { i ->
                        c.output.writeString("hello $i\n")
                        c.flush()
                        c.readLine() shouldBe "echo hello $i"
                    }
                }
            }
        }
    }

    test("dial(\"unix\", path) connects to a server on a unix socket") {
        coTest {
            val dir = Files.createTempDirectory("netpoll-co-unix")
            val path = dir.resolve("echo.sock").toString()
            try {
                withEchoServer("unix", path) {
                    dial("unix", path).use { c ->
                        c.output.writeString("over unix\n")
                        c.flush()
                        c.readLine() shouldBe "echo over unix"
                    }
                }
            } finally {
                Files.deleteIfExists(dir.resolve("echo.sock"))
                Files.deleteIfExists(dir)
            }
        }
    }

    test("a host name is looked up off the caller's thread (a dial from a poller thread works); IP literals and unix paths need no lookup") {
        Addresses.needsLookup("tcp", "localhost:80").shouldBeTrue()
        Addresses.needsLookup("tcp4", "example.invalid:80").shouldBeTrue()
        Addresses.needsLookup("tcp", "127.0.0.1:80").shouldBeFalse()
        Addresses.needsLookup("tcp6", "[::1]:80").shouldBeFalse()
        Addresses.needsLookup("tcp", ":80").shouldBeFalse()
        Addresses.needsLookup("unix", "/tmp/some.sock").shouldBeFalse()
        Addresses.needsLookup("tcp6", "[fe80::1%eth0]:80").shouldBeFalse()
        // not certainly literals: the JDK may ask the name service about them
        Addresses.needsLookup("tcp", "256.1.1.1:80").shouldBeTrue()
        Addresses.needsLookup("tcp", "1.2.3.4.5:80").shouldBeTrue()
        Addresses.needsLookup("tcp", "[localhost]:80").shouldBeTrue()
        coTest {
            withEchoServer("tcp", "127.0.0.1:0") { server ->
                val port = (server.address as InetSocketAddress).port
                withContext(PollerDispatcher.of(server.pollers[0])) {
                    dial("tcp", "localhost:$port", timeout = 5.seconds).use { c ->
                        c.output.writeString("by name\n")
                        c.flush()
                        c.readLine() shouldBe "echo by name"
                    }
                }
            }
        }
    }

    test("code in withContext(conn.dispatcher) resumes on the connection's poller thread") {
        coTest {
            withEchoServer("tcp", "127.0.0.1:0") { server ->
                val client = netpollClient { pollers = 1 }
                try {
                    client.dial("tcp", "127.0.0.1:${(server.address as InetSocketAddress).port}").use { c ->
                        withContext(c.dispatcher) {
                            c.output.writeString("x\n")
                            c.flush()
                            c.readLine() shouldBe "echo x"
                            val t = Thread.currentThread()
                            t.shouldBeInstanceOf<PollerThread>()
                            (t.poller() === c.connection.poller()).shouldBeTrue()
                        }
                    }
                } finally {
                    client.close()
                }
            }
        }
    }

    test("dialing a port nobody listens on throws ConnectionRefusedException with its stable message") {
        coTest {
            val port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort } // now closed
            shouldThrow<ConnectionRefusedException> { dial("tcp", "127.0.0.1:$port") } // warm-up (the client's pollers)
            val before = openSockets()
            repeat(20) {
                val e = shouldThrow<ConnectionRefusedException> { dial("tcp", "127.0.0.1:$port") }
                e.message shouldBe "connect 127.0.0.1:$port: connection refused (ECONNREFUSED)"
                e.address() shouldBe "127.0.0.1:$port"
            }
            awaitTrue("every refused socket was closed (still open: ${openSockets() - before})") { (openSockets() - before).isEmpty() }
        }
    }

    test("a dial that cannot complete within its timeout throws DialTimeoutException and closes its socket") {
        coTest {
            FullBacklog().use { full ->
                shouldThrow<DialTimeoutException> { dial("tcp", full.address, timeout = 200.milliseconds) } // warm-up
                val before = openSockets()
                repeat(5) {
                    shouldThrow<DialTimeoutException> { dial("tcp", full.address, timeout = 200.milliseconds) }
                }
                awaitTrue("no socket left open (still open: ${openSockets() - before})") { (openSockets() - before).isEmpty() }
            }
        }
    }

    test("cancelling a suspended dial closes the half-open socket: 200 cancelled dials leave no fd behind") {
        coTest {
            FullBacklog().use { full ->
                val client = netpollClient { pollers = 1 }
                try {
                    // warm-up: class loading, the poller's first descriptors
                    launchNow { client.dial("tcp", full.address) }.also { it.isActive.shouldBeTrue() }.let {
                        it.cancel()
                        it.join()
                    }
                    val before = openSockets()
                    repeat(200) {
                        val (job, outcome) = launchCatching { client.dial("tcp", full.address) }
                        job.isActive.shouldBeTrue() // suspended in the connect
                        job.cancel(QuietCancellation())
                        job.join()
                        outcome.get().shouldBeInstanceOf<QuietCancellation>()
                    }
                    awaitTrue("every half-open socket closed (still open: ${openSockets() - before})") { (openSockets() - before).isEmpty() }
                } finally {
                    client.close()
                }
            }
        }
    }

    test("dialing a unix socket whose listener's queue is full throws SyscallException EAGAIN at once, not a wait that nothing ends") {
        coTest {
            val dir = Files.createTempDirectory("netpoll-co-unix-full")
            val path = dir.resolve("full.sock")
            val dialed = mutableListOf<SuspendConnection>()
            try {
                ServerSocketChannel.open(StandardProtocolFamily.UNIX).use { listener ->
                    listener.bind(UnixDomainSocketAddress.of(path), 1) // never accepts
                    var failure: Throwable? = null
                    while (failure == null && dialed.size < 64) {
                        try {
                            // a bound: a dial that waited for an event that never comes ends here
                            dialed += dial("unix", path.toString(), timeout = 5.seconds)
                        } catch (e: IOException) {
                            failure = e
                        }
                    }
                    failure.shouldBeInstanceOf<SyscallException>()
                    failure.errno() shouldBe Errno.EAGAIN
                }
            } finally {
                dialed.forEach { it.close() }
                Files.deleteIfExists(path)
                Files.deleteIfExists(dir)
            }
        }
    }

    test("closing a client while a dial of it waits resumes the dial with ConnectionClosedException and closes its socket; a dial after close throws it too") {
        coTest {
            FullBacklog().use { full ->
                val client = netpollClient { pollers = 1 }
                val before = openSockets()
                val (job, outcome) = launchCatching { client.dial("tcp", full.address) }
                job.isActive.shouldBeTrue() // suspended in the connect
                withContext(Dispatchers.IO) { client.close() }
                withTimeout(10.seconds) { job.join() } // before: it never resumed
                outcome.get().shouldBeInstanceOf<ConnectionClosedException>()
                shouldThrow<ConnectionClosedException> { client.dial("tcp", full.address) }
                awaitTrue("the half-open socket closed (still open: ${openSockets() - before})") { (openSockets() - before).isEmpty() }
            }
        }
    }

    test("a dial timeout of Duration.INFINITE is no timeout: the dial waits on until cancelled") {
        coTest {
            FullBacklog().use { full ->
                val (job, outcome) = launchCatching { dial("tcp", full.address, timeout = Duration.INFINITE) }
                delay(300) // Long.MAX_VALUE ns from now wraps around: none must stay none
                job.isActive.shouldBeTrue()
                job.cancel(QuietCancellation())
                job.join()
                outcome.get().shouldBeInstanceOf<QuietCancellation>()
            }
        }
    }

    test("closing a client with pollers of its own closes its connections and resumes their suspended reads") {
        coTest {
            ServerSocket(0, 4, InetAddress.getLoopbackAddress()).use { ss ->
                val client = netpollClient { pollers = 1 }
                val c = client.dial("tcp", "127.0.0.1:${ss.localPort}", timeout = 5.seconds)
                ss.soTimeout = CoTestKit.WAIT_MS.toInt()
                ss.accept().use { peer ->
                    peer.soTimeout = CoTestKit.WAIT_MS.toInt()
                    val outcome = AtomicReference<Throwable?>()
                    val job = launchNow {
                        try {
                            c.readLine()
                        } catch (e: Throwable) {
                            outcome.set(e)
                        }
                    }
                    job.isActive.shouldBeTrue()
                    withContext(Dispatchers.IO) { client.close() }
                    job.join()
                    outcome.get().shouldBeInstanceOf<ConnectionClosedException>()
                    c.isActive.shouldBeFalse()
                    val eof = withContext(Dispatchers.IO) {
                        try {
                            peer.getInputStream().read()
                        } catch (e: IOException) {
                            -1
                        }
                    }
                    eof shouldBe -1
                }
            }
        }
    }
})
