package io.netpoll.coroutines

import io.netpoll.HandlerExecutors
import io.netpoll.buffer.BufferPool
import io.netpoll.conn.ConnConfig
import io.netpoll.poll.LoadBalance
import io.netpoll.poll.Poller
import io.netpoll.poll.PollerGroup
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CopyableThrowable
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.DataInputStream
import java.io.File
import java.io.InputStream
import java.lang.management.ManagementFactory
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Shared helpers for the coroutine tests on real sockets: a coroutine connection dialed by a client
 * of its own (own poller, own buffer pool: nothing global) to a JDK socket peer, kotlinx.coroutines
 * style step ordering, and bounded waits.
 */
object CoTestKit {
    /** Every wait in these tests is bounded by this unless a test says otherwise. */
    const val WAIT_MS = 10_000L

    /**
     * Runs [block] in `runBlocking` (a single-threaded event loop, so the order of steps between the
     * test coroutine and the coroutines it launches is deterministic), bounded by [timeout].
     */
    fun coTest(timeout: Duration = 30.seconds, block: suspend CoroutineScope.() -> Unit) {
        runBlocking { withTimeout(timeout) { block() } }
    }

    /**
     * The step-order checker of kotlinx.coroutines' TestBase: `expect(n)` asserts that it is the n-th
     * step, `finish(n)` is the last one. A failed step on another thread is kept and rethrown by
     * [verify], so it cannot be swallowed by a coroutine that catches everything.
     */
    class Steps {
        private val index = AtomicInteger()
        private val finished = AtomicBoolean()
        private val error = AtomicReference<Throwable?>()

        fun expect(n: Int) {
            val was = index.incrementAndGet()
            if (was != n) fail("expected step $n, but this is step $was")
        }

        fun finish(n: Int) {
            expect(n)
            if (finished.getAndSet(true)) fail("finish($n) called twice")
        }

        fun expectUnreached(): Nothing = fail("should not be reached (after step ${index.get()})")

        private fun fail(message: String): Nothing {
            val e = AssertionError(message)
            error.compareAndSet(null, e)
            throw e
        }

        fun verify() {
            error.get()?.let { throw it }
            check(finished.get()) { "finish() was never reached (last step ${index.get()})" }
        }
    }

    /** [coTest] with a [Steps] checker that is verified at the end. */
    fun stepTest(timeout: Duration = 30.seconds, block: suspend CoroutineScope.(Steps) -> Unit) {
        val steps = Steps()
        coTest(timeout) { block(steps) }
        steps.verify()
    }

    /**
     * Launches [block] undispatched: it runs in the caller's frame up to its first suspension, so
     * `job.isCompleted` right after this returns tells whether it suspended at all.
     */
    fun CoroutineScope.launchNow(block: suspend CoroutineScope.() -> Unit): Job =
        launch(start = CoroutineStart.UNDISPATCHED, block = block)

    /**
     * Launches [block] with [launchNow] and keeps what it threw (or null) in the returned reference;
     * a cancellation is rethrown, any other error only kept (it would fail the test's scope).
     */
    fun CoroutineScope.launchCatching(block: suspend () -> Any?): Pair<Job, AtomicReference<Throwable?>> {
        val outcome = AtomicReference<Throwable?>()
        val job = launchNow {
            try {
                block()
            } catch (e: Throwable) {
                outcome.set(e)
                if (e is CancellationException) throw e
            }
        }
        return job to outcome
    }

    /**
     * A [SuspendConnection] dialed by a client of its own (one poller, a private [BufferPool]) to a
     * JDK [Socket] peer accepted from a JDK listener. [close] tears everything down.
     */
    class TestConn(
        val conn: SuspendConnection,
        val peer: Socket,
        val pool: BufferPool,
        val client: NetpollClient,
        private val listener: ServerSocket,
    ) : AutoCloseable {
        val poller: Poller get() = conn.connection.poller()
        val pd get() = conn.connection.pollDesc()

        /** The peer writes [bytes] (flushed: TCP_NODELAY). */
        fun send(bytes: ByteArray) {
            peer.getOutputStream().write(bytes)
            peer.getOutputStream().flush()
        }

        fun send(s: String) = send(s.toByteArray())

        /** The read word's state (`NIL`, `READY`, `WAIT`, or the parked waiter), read on the poller thread. */
        fun rgState(): String = onPoller(poller) { pd.rg.toString() }

        /**
         * Waits (bounded) until the connection has at least [n] unread bytes in its input buffer, and
         * until the poller has finished the read round that buffered them (which wakes a reader after
         * the bytes are counted): a read the test starts next cannot be resumed by that round's wake.
         */
        suspend fun awaitBuffered(n: Int) {
            awaitTrue("$n bytes buffered (have ${conn.connection.inputLen()})") { conn.connection.inputLen() >= n }
            onPoller(poller) { }
        }

        override fun close() {
            conn.close()
            peer.close()
            listener.close()
            client.close()
        }
    }

    /** A client config with a private pool: no global settings, nothing shared with other tests. */
    fun clientConfig(pool: BufferPool, writeQueueLimit: Long = 0) = ConnConfig(
        HandlerExecutors.inline(), null, null, null, 0, 0, 0,
        ConnConfig.DEFAULT_MAX_INPUT, writeQueueLimit, pool,
    )

    /** A client of its own with one poller and [pool]. */
    fun ownClient(pool: BufferPool = BufferPool(8L shl 20), name: String = "co-test-client", writeQueueLimit: Long = 0): NetpollClient =
        NetpollClient(PollerGroup(name, 1, LoadBalance.ROUND_ROBIN), clientConfig(pool, writeQueueLimit), ownsGroup = true)

    /**
     * Dials a JDK listener on loopback with a client of its own and returns both ends. [peerReceiveBuffer]
     * sets the peer's SO_RCVBUF (before listen, so the window is small from the start).
     */
    suspend fun connected(peerReceiveBuffer: Int? = null, writeQueueLimit: Long = 0): TestConn {
        val pool = BufferPool(8L shl 20)
        val ss = ServerSocket()
        if (peerReceiveBuffer != null) ss.receiveBufferSize = peerReceiveBuffer
        ss.bind(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16)
        val client = ownClient(pool, writeQueueLimit = writeQueueLimit)
        try {
            val conn = client.dial("tcp", "127.0.0.1:${ss.localPort}", 10.seconds)
            ss.soTimeout = WAIT_MS.toInt()
            val s = ss.accept()
            s.soTimeout = WAIT_MS.toInt()
            s.tcpNoDelay = true
            return TestConn(conn, s, pool, client, ss)
        } catch (e: Throwable) {
            client.close()
            ss.close()
            throw e
        }
    }

    /** [connected], [body], then close everything. */
    suspend fun withConn(peerReceiveBuffer: Int? = null, writeQueueLimit: Long = 0, body: suspend (TestConn) -> Unit) {
        val p = connected(peerReceiveBuffer, writeQueueLimit)
        try {
            body(p)
        } finally {
            p.close()
        }
    }

    /** Polls [cond] every 5 ms (suspending) for at most [ms]; returns whether it held. */
    suspend fun eventually(ms: Long = WAIT_MS, cond: () -> Boolean): Boolean {
        val end = System.nanoTime() + ms * 1_000_000
        while (System.nanoTime() - end < 0) {
            if (cond()) return true
            delay(5)
        }
        return cond()
    }

    /** Like [eventually] but fails with [what] when the condition never held. */
    suspend fun awaitTrue(what: String, ms: Long = WAIT_MS, cond: () -> Boolean) {
        check(eventually(ms, cond)) { "timed out after $ms ms waiting for: $what" }
    }

    /** Runs [f] on [poller]'s thread and waits (bounded) for its result. */
    fun <T> onPoller(poller: Poller, f: () -> T): T {
        val r = CompletableFuture<T>()
        poller.execute {
            try {
                r.complete(f())
            } catch (e: Throwable) {
                r.completeExceptionally(e)
            }
        }
        return r.get(WAIT_MS, TimeUnit.MILLISECONDS)
    }

    /** [Poller.pendingTimers], read on the poller's own thread. */
    fun pendingTimers(poller: Poller): Int = onPoller(poller) { poller.pendingTimers() }

    /** Waits (bounded) until [poller]'s pending timers are back to [expected]; returns the last count. */
    suspend fun awaitPendingTimers(poller: Poller, expected: Int, ms: Long = WAIT_MS): Int {
        var last = -1
        eventually(ms) {
            last = pendingTimers(poller)
            last == expected
        }
        return last
    }

    fun readFully(inp: InputStream, n: Int): ByteArray {
        val b = ByteArray(n)
        DataInputStream(inp).readFully(b)
        return b
    }

    /** Deterministic stream content: the byte at stream offset [i]. */
    fun patternByte(i: Long): Byte = ((i * 31 + (i ushr 8)) % 251).toByte()

    fun pattern(from: Long, n: Int): ByteArray = ByteArray(n) { patternByte(from + it) }

    /**
     * Reads [total] bytes from [inp] and counts those that differ from [patternByte] at their stream
     * offset (starting at [from]); returns the count of mismatches. Fails on EOF before [total].
     */
    fun readPattern(inp: InputStream, total: Long, from: Long = 0): Long {
        val buf = ByteArray(64 shl 10)
        var got = 0L
        var bad = 0L
        while (got < total) {
            val n = inp.read(buf, 0, minOf(buf.size.toLong(), total - got).toInt())
            check(n >= 0) { "EOF after $got of $total bytes" }
            for (k in 0 until n) if (buf[k] != patternByte(from + got + k)) bad++
            got += n
        }
        return bad
    }

    /** The open-files soft limit of this JVM, from /proc/self/limits. */
    fun openFilesLimit(): Long {
        val line = File("/proc/self/limits").readLines().first { it.startsWith("Max open files") }
        val soft = line.removePrefix("Max open files").trim().split(Regex("\\s+"))[0]
        return if (soft == "unlimited") Long.MAX_VALUE else soft.toLong()
    }

    /** File descriptors open in this process now. */
    fun openFds(): Int = File("/proc/self/fd").list()?.size ?: error("cannot list /proc/self/fd")

    /**
     * The sockets open in this process now, by inode (`socket:[N]` in /proc/self/fd). An inode
     * names one socket for its whole life, unlike an fd number, so `openSockets() - before` is
     * exactly the sockets opened since and still open, whatever else closed meanwhile (a count
     * of fds is not: a poller or socket of an earlier test closing late hides a leak or, as seen
     * in CI, makes a clean run look wrong).
     */
    fun openSockets(): Set<String> {
        val dir = File("/proc/self/fd")
        val names = dir.list() ?: error("cannot list /proc/self/fd")
        return names.mapNotNullTo(HashSet()) { name ->
            val target = try {
                java.nio.file.Files.readSymbolicLink(dir.toPath().resolve(name)).toString()
            } catch (e: java.io.IOException) {
                null // closed while listing
            }
            target?.takeIf { it.startsWith("socket:") }
        }
    }

    /** Heap in use after full collections (bytes). */
    fun usedHeapAfterGc(): Long {
        val mx = ManagementFactory.getMemoryMXBean()
        var used = Long.MAX_VALUE
        repeat(3) {
            System.gc()
            Thread.sleep(50)
            used = minOf(used, mx.heapMemoryUsage.used)
        }
        return used
    }

    /**
     * Writes 1 MiB chunks of [patternByte] content (from stream offset [from]) and flushes each in an
     * undispatched coroutine running [flush] until one suspends: the socket and the peer's window
     * are full. Returns that still suspended job and the bytes written in all (at most 64 MiB).
     */
    fun CoroutineScope.flushUntilSuspended(
        c: TestConn,
        from: Long = 0,
        flush: suspend () -> Unit = { c.conn.flush() },
    ): kotlin.Pair<Job, Long> {
        val chunk = 1 shl 20
        var written = 0L
        repeat(64) {
            c.conn.output.writeBinary(pattern(from + written, chunk))
            written += chunk
            val job = launchNow { flush() }
            if (!job.isCompleted) return job to written
        }
        error("flush never suspended after $written bytes: the peer's socket never filled")
    }

    /**
     * A cancellation cause for loops that cancel many times. Under `-ea` (Surefire's default)
     * kotlinx.coroutines runs in debug mode and copies the cause of every cancellation, with a new
     * stack trace, each time it crosses a suspension: about 60 µs per cancel. This cause opts out of
     * the copy ([createCopy] returns null) and of its own stack trace; cancelling with it is otherwise
     * exactly `job.cancel()`.
     */
    @OptIn(ExperimentalCoroutinesApi::class)
    class QuietCancellation : CancellationException("cancelled by the test"), CopyableThrowable<QuietCancellation> {
        override fun createCopy(): QuietCancellation? = null
        override fun fillInStackTrace(): Throwable = this
    }

    /** A short time for deadlines that must pass in a test. */
    val SHORT: Duration = 200.milliseconds
}
