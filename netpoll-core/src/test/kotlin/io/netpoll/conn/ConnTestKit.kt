package io.netpoll.conn

import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.Dialer
import io.netpoll.EventLoop
import io.netpoll.HandlerExecutors
import io.netpoll.Listener
import io.netpoll.ShutdownReport
import io.netpoll.buffer.BufferPool
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.ConnectionResetException
import io.netpoll.poll.LoadBalance
import io.netpoll.poll.PollerGroup
import java.io.DataInputStream
import java.io.InputStream
import java.net.InetSocketAddress
import java.net.Socket
import java.time.Duration
import java.util.concurrent.ExecutorService
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference

/**
 * Shared helpers for the real-socket connection tests: a server on its own event loop, executor and
 * buffer pool (nothing global), JDK socket peers with timeouts, and bounded waits.
 */
object ConnTestKit {
    /** Every wait in these tests is bounded by this unless a test says otherwise. */
    const val WAIT_MS = 10_000L

    /** A running event loop serving one listener on a thread of its own; [stop] tears everything down. */
    class Server(
        val loop: EventLoop,
        val listener: Listener,
        val pool: BufferPool,
        private val executor: ExecutorService?,
        private val thread: Thread,
    ) : AutoCloseable {
        /** The thread blocked in serve(). */
        val serveThread: Thread get() = thread
        val port: Int get() = listener.port()
        val address: InetSocketAddress get() = listener.address() as InetSocketAddress
        @Volatile var report: ShutdownReport? = null

        fun stop(grace: Duration = Duration.ofSeconds(2)): ShutdownReport {
            val r = loop.shutdown(grace)
            report = r
            thread.join(WAIT_MS)
            check(!thread.isAlive) { "serve() did not return after shutdown" }
            // graceful: close callbacks of connections the shutdown closed may still be queued
            executor?.shutdown()
            if (executor != null && !executor.awaitTermination(5, TimeUnit.SECONDS)) executor.shutdownNow()
            return r
        }

        override fun close() {
            if (report == null) stop()
        }
    }

    /** How handlers run: inline on the poller, or on a pool this server owns. */
    enum class Exec { INLINE, POOL }

    /**
     * Starts a server on 127.0.0.1:0 (or [address] on [network]) with one poller by default; [configure]
     * adds callbacks and options. The server has its own BufferPool and (for POOL) its own executor.
     */
    fun server(
        exec: Exec = Exec.POOL,
        network: String = "tcp",
        address: String = "127.0.0.1:0",
        pool: BufferPool = BufferPool(8L shl 20),
        poolThreads: Int = 16,
        configure: EventLoop.Builder.() -> Unit,
    ): Server {
        val executor = if (exec == Exec.POOL) HandlerExecutors.boundedPool(poolThreads) else null
        val b = EventLoop.builder().pollers(1).bufferPool(pool)
        if (executor != null) b.executor(executor) else b.executor(HandlerExecutors.inline())
        b.configure()
        val loop = b.build()
        val listener = Listener.create(network, address)
        val t = Thread({
            try {
                loop.serve(listener)
            } catch (e: Exception) {
                e.printStackTrace()
            }
        }, "test-serve-${listener.port()}")
        t.isDaemon = true
        t.start()
        return Server(loop, listener, pool, executor, t)
    }

    /** A dialer with its own poller, executor and pool, so no global client settings are shared. */
    fun <T> withDialer(pool: BufferPool = BufferPool(4L shl 20), body: (Dialer) -> T): T {
        val group = PollerGroup("conn-test-client", 1, LoadBalance.ROUND_ROBIN)
        val exec = HandlerExecutors.boundedPool(2)
        try {
            val cfg = ConnConfig(exec, null, null, null, 0, 0, 0, ConnConfig.DEFAULT_MAX_INPUT, 0, pool)
            return body(Dialer.create(group, cfg))
        } finally {
            group.close()
            exec.shutdownNow()
        }
    }

    /** Runs [block] with a connection dialed (by [withDialer]) to a JDK listener, and the peer's accepted socket. */
    fun withDialedPair(configure: java.net.ServerSocket.() -> Unit = {}, block: (Connection, Socket) -> Unit) {
        java.net.ServerSocket().use { ss ->
            ss.configure()
            ss.bind(InetSocketAddress("127.0.0.1", 0))
            ss.soTimeout = WAIT_MS.toInt()
            withDialer { dialer ->
                dialer.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5)).use { c ->
                    ss.accept().use { s -> block(c, s) }
                }
            }
        }
    }

    /** A JDK socket to [port] on loopback, with a read timeout so no test can hang on it. */
    fun peer(port: Int, soTimeoutMs: Int = WAIT_MS.toInt(), configure: Socket.() -> Unit = {}): Socket {
        val s = Socket()
        s.configure()
        s.connect(InetSocketAddress("127.0.0.1", port), WAIT_MS.toInt())
        s.soTimeout = soTimeoutMs
        s.tcpNoDelay = true
        return s
    }

    /** Polls [cond] every 5 ms for at most [ms]; returns whether it held. */
    fun eventually(ms: Long = WAIT_MS, cond: () -> Boolean): Boolean {
        val end = System.nanoTime() + ms * 1_000_000
        while (System.nanoTime() - end < 0) {
            if (cond()) return true
            Thread.sleep(5)
        }
        return cond()
    }

    /** Like [eventually] but fails with [what] when the condition never held. */
    fun awaitTrue(what: String, ms: Long = WAIT_MS, cond: () -> Boolean) {
        check(eventually(ms, cond)) { "timed out after $ms ms waiting for: $what" }
    }

    /**
     * A peer sends [bytes] to [srv] and resets once the server holds them; returns when the poller has
     * read the reset on [conn] (its input ended, the bytes still unread).
     */
    fun sendThenReset(srv: Server, bytes: ByteArray, conn: AtomicReference<Connection>) {
        val p = peer(srv.port)
        p.getOutputStream().write(bytes)
        p.getOutputStream().flush()
        awaitTrue("the server buffered the bytes") { srv.pool.bytesInUse() > 0 }
        p.setSoLinger(true, 0)
        p.close() // RST
        awaitTrue("the poller read the reset") { (conn.get() as NetConnection).inputEof() }
    }

    /** Keeps each new connection in [conn] and, once it closes, its close cause (or "none") in [cause]. */
    fun EventLoop.Builder.recordClose(conn: AtomicReference<Connection>, cause: AtomicReference<Any?>) {
        onPrepare { c ->
            conn.set(c)
            c.addCloseCallback { cc -> cause.set(cc.closeCause() ?: "none") }
        }
    }

    /**
     * The end of input after a peer's reset, as a reader meets it: [end] (what the read past the last
     * byte threw) is ConnectionClosedException caused by the reset, the connection closes with the
     * reset as its cause ([cause], kept by [recordClose]), and its buffers go back to [srv]'s pool.
     */
    fun endedByReset(end: Any?, cause: AtomicReference<Any?>, srv: Server) {
        end.shouldBeInstanceOf<ConnectionClosedException>()
        end.cause.shouldBeInstanceOf<ConnectionResetException>()
        awaitTrue("the connection closed") { cause.get() != null }
        cause.get().shouldBeInstanceOf<ConnectionResetException>()
        awaitTrue("its buffers went back") { srv.pool.bytesInUse() == 0L }
    }

    /** What [body] returned, or what it threw. */
    fun attempt(body: () -> Any?): Any? =
        try {
            body()
        } catch (e: Throwable) {
            e
        }

    /** Reads until EOF (-1) and returns what came; fails on the socket's read timeout. */
    fun readToEof(s: Socket): ByteArray = s.getInputStream().readAllBytes()

    fun readFully(inp: InputStream, n: Int): ByteArray {
        val b = ByteArray(n)
        DataInputStream(inp).readFully(b)
        return b
    }

    /** Echoes every complete 4-byte-length-prefixed frame; leaves partial frames buffered. */
    fun framedEcho(c: Connection) {
        val r = c.reader()
        var wrote = false
        while (r.len() >= 4) {
            val n = r.peek(4).getInt(0)
            if (r.len() < 4 + n) break
            c.writer().append(r.slice(4 + n))
            wrote = true
        }
        r.release()
        if (wrote) c.writer().flush()
    }

    /** Echoes whatever is buffered (raw stream echo). */
    fun rawEcho(c: Connection) {
        val r = c.reader()
        val n = r.len()
        if (n == 0) return
        c.writer().append(r.slice(n))
        r.release()
        c.writer().flush()
    }

    /** Deterministic stream content: the byte at stream offset [i]. */
    fun patternByte(i: Long): Byte = ((i * 31 + (i ushr 8)) % 251).toByte()

    /** [n] bytes of the pattern, from stream offset [from]. */
    fun pattern(from: Long, n: Int): ByteArray = ByteArray(n) { patternByte(from + it) }

    /** Reads a stream that should carry [patternByte] from offset 0: [got] bytes so far, [bad] of them wrong. */
    class PatternCheck {
        var got = 0L
        var bad = 0
        private val buf = ByteArray(64 shl 10)

        /** One read of at most [max] bytes; returns what read(2) returned (-1 at EOF; a reset is EOF too). */
        fun read(inp: InputStream, max: Int = buf.size): Int {
            val n = try {
                inp.read(buf, 0, minOf(max, buf.size))
            } catch (e: java.net.SocketException) {
                -1
            }
            for (k in 0 until n) if (buf[k] != patternByte(got + k)) bad++
            if (n > 0) got += n
            return n
        }
    }

    /** The open-files soft limit of this JVM, from /proc/self/limits. */
    fun openFilesLimit(): Long {
        val line = java.io.File("/proc/self/limits").readLines().first { it.startsWith("Max open files") }
        val soft = line.removePrefix("Max open files").trim().split(Regex("\\s+"))[0]
        return if (soft == "unlimited") Long.MAX_VALUE else soft.toLong()
    }

    /** The classpath entries a child JVM running our main classes needs (no test framework jars). */
    fun childClasspath(): String =
        System.getProperty("java.class.path").split(java.io.File.pathSeparator)
            .filter { it.contains("netpoll-core") || it.contains("/jna/") || it.contains("kotlin-stdlib") }
            .joinToString(java.io.File.pathSeparator)

    /** The java launcher of this JVM. */
    fun javaBin(): String = System.getProperty("java.home") + "/bin/java"
}
