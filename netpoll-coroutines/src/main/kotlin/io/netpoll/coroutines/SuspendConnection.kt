package io.netpoll.coroutines

import io.netpoll.buffer.Reader
import io.netpoll.buffer.Writer
import io.netpoll.conn.NetConnection
import io.netpoll.error.ConcurrentAccessException
import io.netpoll.error.EofException
import io.netpoll.error.LimitExceededException
import io.netpoll.error.ReadTimeoutException
import io.netpoll.error.WriteTimeoutException
import io.netpoll.timer.Deadlines
import java.net.SocketAddress
import java.nio.ByteBuffer
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.coroutineContext
import kotlin.time.Duration
import kotlin.time.Duration.Companion.nanoseconds
import kotlin.time.TimeMark

/**
 * A connection for coroutines: straight-line reads and writes that suspend, parked on the
 * connection's poll descriptor exactly as Go parks a goroutine (no extra coroutine, channel or copy
 * between the kernel and you: the poller reads into the input buffer and resumes you).
 *
 * ```kotlin
 * handle { conn ->
 *     while (conn.awaitReadable(4)) {           // false: the peer finished sending
 *         val n = conn.readInt()
 *         val payload = conn.next(n)            // zero-copy view, valid until release()
 *         conn.output.writeInt(n)
 *         conn.output.writeBuffer(payload)
 *         conn.release()
 *         conn.flush()                          // suspends while the socket is full
 *     }
 * }
 * ```
 *
 * **End of input** is a value, not an exception, where Kotlin expects one: [awaitReadable] returns
 * `false`, [readAvailable] returns -1, [readLine] returns `null`. Calls that must return data
 * ([next], [readInt], ...) throw [EofException] when the peer finished first.
 *
 * **Deadlines.** [readTimeout] / [writeTimeout] bound each wait; [readDeadline] / [writeDeadline]
 * are absolute (Go style), armed on the poller's timer wheel and cancelled there when the wait
 * ends. When one passes the waiting call throws [ReadTimeoutException] / [WriteTimeoutException]:
 * ordinary exceptions, so your scope is not cancelled, nothing was consumed, and the connection stays
 * usable. `withTimeout` works too, but it cancels the coroutine (a `CancellationException` that ends
 * the surrounding scope unless caught), which suits "give up on this whole exchange" better than "this
 * read took too long".
 *
 * **Cancellation** of a suspended call removes its continuation from the poll descriptor, leaves every
 * buffered byte where it was (no byte lost or duplicated: read again later and you get the same bytes)
 * and holds no pooled memory. A cancelled [flush] leaves the bytes it had handed over queued: they are
 * still sent, once and in order.
 *
 * **Closing.** [close] closes the socket and resumes a suspended call with
 * [io.netpoll.error.ConnectionClosedException]. Bytes already received when the peer sends its FIN
 * or resets stay readable first: after a FIN, reading past them is the end of input (`false`,
 * `null`, [EofException]); after a reset, it throws `ConnectionClosedException` caused by
 * [io.netpoll.error.ConnectionResetException] and closes the connection. A reset with nothing
 * unread closes the connection at once. A write that fails (a reset) ends the output only: [flush]
 * throws [io.netpoll.error.ConnectionResetException] then and on every later call, unsent output is
 * discarded, and the bytes received before the reset stay readable as above. Server handlers need
 * not close: the server closes the connection when the handler returns.
 *
 * **Threads.** One coroutine reads and one writes at a time (a second concurrent reader gets
 * [ConcurrentAccessException]); [close] and the deadline properties are safe from anywhere.
 */
public class SuspendConnection(
    /**
     * The underlying connection, shared with the Java API (close callbacks, blocking streams).
     * Example: `conn.connection.addCloseCallback { metrics.closed() }`. **Cancellation**: its calls
     * block instead of suspending and know nothing of coroutines: use this class's own calls in a
     * coroutine.
     */
    public val connection: NetConnection,
) : AutoCloseable {
    /** The dispatcher of this connection's poller (public as the `dispatcher` extension). */
    internal val pollerDispatcher: PollerDispatcher = PollerDispatcher.of(connection.poller())

    /** What a read waits for, decided alike by both waits. */
    private val inputWait = InputWait(connection)

    /** Parks readers in the read word (`pd.rg`); its slot is reused by every wait of a handler. */
    private val readParker = Parker(connection.pollDesc().rg, pollerDispatcher, inputWait)

    /** Where flushes wait for room in the send queue. */
    private val roomWait = RoomWait(connection, pollerDispatcher)

    init {
        // a parked coroutine's job keeps a hook on each parker: drop it with the connection
        connection.addCloseCallback {
            readParker.dispose()
            roomWait.dispose()
        }
    }

    /**
     * Makes the read slot for a handler coroutine in [context] before its first read (the server
     * does this as the handler starts, on the poller thread), so that the first read takes the path
     * every later one takes and that per-connection set-up stays out of the read path's compiled
     * code. Elsewhere (another dispatcher, another thread) it does nothing, as a read would.
     */
    internal fun prepareReads(context: CoroutineContext) {
        readParker.prepare(context)
    }

    /**
     * What is buffered now, zero-copy, never waiting: after `awaitReadable(n)` at least `n` bytes
     * are there. Asking for more than [Reader.len] throws [EofException]. Views stay valid until
     * [release]. Example: `if (conn.awaitReadable(4)) { val n = conn.input.peekInt(0) }`.
     *
     * **Cancellation**: never suspends; a cancelled wait leaves every buffered byte here.
     * **Close**: once the connection is closed, every call but `len()` and `release()` throws
     * [io.netpoll.error.ConnectionClosedException], even with the bytes still buffered.
     */
    public val input: Reader get() = connection.bufferedReader()

    /**
     * Buffers writes (netpoll's Writer); [flush] sends them. Writes after close are dropped. Example:
     * `conn.output.writeString("PONG\r\n"); conn.flush()`.
     *
     * **Cancellation**: never suspends; what was written stays buffered until the next [flush].
     */
    public val output: Writer get() = connection.writer()

    /**
     * True until the connection is closed (by either side, an error, a timeout or shutdown).
     * Example: `while (conn.isActive) { ... }`. **Cancellation**: a plain read; cancelling a call
     * does not close the connection.
     */
    public val isActive: Boolean get() = connection.isActive

    /**
     * This side's address, looked up on first use (`null` if the connection closed before that).
     * Example: `log("on ${conn.localAddress}")`.
     * **Cancellation**: a plain read.
     */
    public val localAddress: SocketAddress? get() = connection.localAddress()

    /**
     * The peer's address, looked up on first use (`null` if the connection closed before that).
     * Example: `log("from ${conn.remoteAddress}")`.
     * **Cancellation**: a plain read.
     */
    public val remoteAddress: SocketAddress? get() = connection.remoteAddress()

    /**
     * Bounds each read wait, counted from its start; `null` or zero: none. A new value applies to
     * the waits that start after it; the one in progress keeps its bound. Example:
     * `conn.readTimeout = 5.seconds`.
     *
     * **Cancellation**: when it passes, the wait throws [ReadTimeoutException], not a
     * `CancellationException` (see **Deadlines** above).
     */
    public var readTimeout: Duration?
        get() = connection.readTimeoutNanos().takeIf { it > 0 }?.nanoseconds
        set(value) = connection.setReadTimeout(value?.toJavaDuration())

    /**
     * Bounds each flush wait, counted from its start; `null` or zero: none. A new value applies to
     * the waits that start after it. Example: `conn.writeTimeout = 5.seconds`.
     *
     * **Cancellation**: when it passes, the flush throws [WriteTimeoutException], not a
     * `CancellationException`; the bytes stay queued and are still sent.
     */
    public var writeTimeout: Duration?
        get() = connection.writeTimeoutNanos().takeIf { it > 0 }?.nanoseconds
        set(value) = connection.setWriteTimeout(value?.toJavaDuration())

    /**
     * Closes the connection after this long without traffic in either direction; `null` or zero:
     * never. Counted from this setting or the last traffic after it. Example:
     * `conn.idleTimeout = 60.seconds`.
     *
     * **Cancellation**: nothing is cancelled; the call in progress (or the next) ends with
     * [io.netpoll.error.ConnectionClosedException], caused by [io.netpoll.error.IdleTimeoutException].
     */
    public var idleTimeout: Duration?
        get() = connection.idleTimeoutNanos().takeIf { it > 0 }?.nanoseconds
        set(value) = connection.setIdleTimeout(value?.toJavaDuration())

    /**
     * An absolute deadline for every read wait, Go style; `null`: none. It applies to a wait in
     * progress too: moving it re-arms that wait (which keeps its [readTimeout]'s bound), and a past
     * deadline fails it at once. Example:
     * `conn.readDeadline = TimeSource.Monotonic.markNow() + 2.seconds`.
     *
     * **Cancellation**: when it passes, waits throw [ReadTimeoutException] (nothing consumed, the
     * connection usable) until it is moved or cleared; not a `CancellationException`.
     */
    @Volatile
    public var readDeadline: TimeMark? = null
        set(value) {
            field = value
            connection.setReadDeadlineNanos(value.toNanoTime())
        }

    /**
     * An absolute deadline for every flush wait, Go style; `null`: none. It applies to a wait in
     * progress too: moving it wakes that wait, which re-arms for the new one. Example:
     * `conn.writeDeadline = TimeSource.Monotonic.markNow() + 2.seconds`.
     *
     * **Cancellation**: when it passes, flushes throw [WriteTimeoutException] (the bytes stay queued
     * and are still sent) until it is moved or cleared; not a `CancellationException`.
     */
    @Volatile
    public var writeDeadline: TimeMark? = null
        set(value) {
            field = value
            connection.setWriteDeadlineNanos(value.toNanoTime())
        }

    /**
     * Suspends until at least [n] bytes are buffered (`true`) or the peer finished sending with
     * fewer left (`false`; they stay readable). Never suspends when they are buffered already (or
     * readiness was latched meanwhile). Consumes nothing.
     *
     * ```kotlin
     * while (conn.awaitReadable(4)) {
     *     val n = conn.input.peekInt(0)
     *     if (!conn.awaitReadable(4 + n)) break      // EOF inside a frame
     *     conn.output.append(conn.input.slice(4 + n))
     *     conn.flush()
     * }
     * ```
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun awaitReadable(n: Int = 1): Boolean {
        require(n >= 0) { "negative size: $n" }
        if (buffered(n)) return true
        return waitInput(n)
    }

    /**
     * True when [n] bytes are buffered on an open connection, so a read needs no wait. Every read
     * checks this first, outside any suspending frame: a read of buffered bytes then allocates no
     * continuation and costs no more than the Java API's.
     */
    private fun buffered(n: Int): Boolean = connection.isActive && connection.inputLen() >= n

    /**
     * Waits until [n] bytes or EOF. A coroutine on the poller with no per-wait [readTimeout] waits in
     * the read parker's slot, which re-checks the input itself on every wake-up and resumes the
     * caller once, with the outcome: no suspending frame, no loop, nothing allocated. Any other waits
     * in [InputWait.awaitInput]. Both are tail calls, so this function has no frame either.
     */
    private suspend fun waitInput(n: Int): Boolean {
        val slot = if (connection.readTimeoutNanos() <= 0) readParker.slotFor(coroutineContext) else null
        return if (slot != null) slot.awaitBytes(n) else inputWait.awaitInput(readParker, n)
    }

    /**
     * A read whose bytes are not all buffered yet: wait for them (EOF first: [EofException]), then
     * [read]. The callers that return an object have slow paths of their own ([viewSlow], ...), typed,
     * so that their call is a tail call and their fast path keeps no suspending frame.
     */
    private suspend fun <T> readingSlow(n: Int, read: (Reader) -> T): T {
        awaitBytes(n)
        return read(connection.bufferedReader())
    }

    private suspend fun awaitBytes(n: Int) {
        if (!waitInput(n)) throw EofException(n.toLong(), connection.inputLen().toLong())
    }

    private suspend fun viewSlow(n: Int, consume: Boolean): ByteBuffer {
        awaitBytes(n)
        val r = connection.bufferedReader()
        return if (consume) r.next(n) else r.peek(n)
    }

    private suspend fun bytesSlow(n: Int): ByteArray {
        awaitBytes(n)
        return connection.bufferedReader().readBinary(n)
    }

    private suspend fun stringSlow(n: Int): String {
        awaitBytes(n)
        return connection.bufferedReader().readString(n)
    }

    /**
     * Copies up to [length] bytes into [dst] at [offset] once at least one is buffered and returns
     * how many; -1 when the peer finished and nothing is left. Releases the input views. An [offset]
     * and [length] outside [dst] throw `IndexOutOfBoundsException` before anything is consumed.
     *
     * ```kotlin
     * val buf = ByteArray(4096)
     * while (true) { val k = conn.readAvailable(buf); if (k < 0) break; sink.write(buf, 0, k) }
     * ```
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun readAvailable(dst: ByteArray, offset: Int = 0, length: Int = dst.size - offset): Int {
        java.util.Objects.checkFromIndexSize(offset, length, dst.size) // before anything is consumed
        if (length == 0) return 0
        if (buffered(1)) return takeAvailable(dst, offset, length)
        return readAvailableSlow(dst, offset, length)
    }

    private suspend fun readAvailableSlow(dst: ByteArray, offset: Int, length: Int): Int {
        if (!waitInput(1)) return -1
        return takeAvailable(dst, offset, length)
    }

    private fun takeAvailable(dst: ByteArray, offset: Int, length: Int): Int {
        // entered around the copy: a close on another thread cannot free (and the pool hand out) the
        // view's memory under it
        val token = connection.enterCallOrThrow()
        try {
            val r = connection.bufferedReader()
            val k = minOf(length, r.len())
            r.next(k).get(0, dst, offset, k)
            r.release()
            connection.consumedInput()
            return k
        } finally {
            connection.leaveCall(token)
        }
    }

    /**
     * Consumes [n] bytes and returns a zero-copy view of them (big-endian, position 0, limit [n]),
     * valid until [release]; [EofException] if the peer finished with fewer.
     *
     * ```kotlin
     * val header = conn.next(8); val id = header.getInt(0); val len = header.getInt(4)
     * val body = conn.next(len)                        // both views valid until release()
     * handle(id, body); conn.release()
     * ```
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun next(n: Int): ByteBuffer =
        if (buffered(n)) connection.bufferedReader().next(n) else viewSlow(n, consume = true)

    /**
     * Returns a view of the next [n] bytes without consuming them, valid until [release];
     * [EofException] if the peer finished with fewer. Example: `if (conn.peek(2).getShort(0) == MAGIC) ...`
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun peek(n: Int): ByteBuffer =
        if (buffered(n)) connection.bufferedReader().peek(n) else viewSlow(n, consume = false)

    /**
     * Consumes [n] bytes into a new array; [EofException] if the peer finished with fewer.
     * Example: `val payload = conn.readFully(conn.readInt())`.
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun readFully(n: Int): ByteArray =
        if (buffered(n)) connection.bufferedReader().readBinary(n) else bytesSlow(n)

    /**
     * Consumes [n] bytes and decodes them as UTF-8; [EofException] if the peer finished with fewer.
     * Example: `val name = conn.readString(conn.readShort().toInt())`.
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun readString(n: Int): String =
        if (buffered(n)) connection.bufferedReader().readString(n) else stringSlow(n)

    /**
     * Consumes one byte; [EofException] at EOF. Example: `val type = conn.readByte()`.
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun readByte(): Byte =
        if (buffered(1)) connection.bufferedReader().readByte() else readingSlow(1) { it.readByte() }

    /**
     * Consumes a big-endian 16-bit value; [EofException] if the peer finished with fewer than 2
     * bytes. Example: `val port = conn.readShort().toInt() and 0xffff`.
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun readShort(): Short =
        if (buffered(2)) connection.bufferedReader().readShort() else readingSlow(2) { it.readShort() }

    /**
     * Consumes a big-endian 32-bit value; [EofException] if the peer finished with fewer than 4
     * bytes. Example: `val frame = conn.next(conn.readInt())`.
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun readInt(): Int =
        if (buffered(4)) connection.bufferedReader().readInt() else readingSlow(4) { it.readInt() }

    /**
     * Consumes a big-endian 64-bit value; [EofException] if the peer finished with fewer than 8
     * bytes. Example: `val id = conn.readLong()`.
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun readLong(): Long =
        if (buffered(8)) connection.bufferedReader().readLong() else readingSlow(8) { it.readLong() }

    /**
     * Reads a line ending in `\n` (a preceding `\r` is dropped too) and returns it without the end;
     * `null` at EOF with nothing buffered; at EOF with a partial line, that line as it is (a last
     * `\r` kept; up to [maxLength] + 1 bytes, as a `\r` there could still have begun the end). A line
     * longer than [maxLength] bytes throws [LimitExceededException] and consumes nothing (as soon as
     * that many bytes without an end are buffered: a peer cannot make it buffer more). A negative
     * [maxLength] throws `IllegalArgumentException`. Like [readAvailable], it releases the input
     * views: views from earlier [next] / [peek] calls are invalid afterwards.
     *
     * ```kotlin
     * while (true) {
     *     val line = conn.readLine(maxLength = 1024) ?: break
     *     conn.output.writeString(line.uppercase() + "\n"); conn.flush()
     * }
     * ```
     *
     * **Cancellation**: the wait ends with `CancellationException`, its continuation leaves the poll
     * descriptor, nothing is consumed (the bytes stay buffered for the next read) and the connection
     * stays usable. **Deadline**: [ReadTimeoutException], nothing consumed. **Close**:
     * [io.netpoll.error.ConnectionClosedException] (the bytes the peer sent before its FIN or its
     * reset are read first; after a reset, the read at their end gets the closed error).
     */
    public suspend fun readLine(maxLength: Int = 8192): String? {
        require(maxLength >= 0) { "maxLength $maxLength < 0" }
        connection.enterOrThrow()
        try {
            val r = connection.bufferedReader()
            var scanned = 0
            while (true) {
                // The poller appends meanwhile: only the bytes there before the search are known to
                // hold no '\n' (len() after it may count a '\n' the search never saw).
                val searched = r.len()
                val i = r.indexOf('\n'.code.toByte(), scanned)
                if (i >= 0) {
                    val end = if (i > 0 && r.peekByte(i - 1) == CR) i - 1 else i
                    if (end > maxLength) throw LimitExceededException("line", maxLength.toLong())
                    val bytes = r.readBinary(i + 1)
                    r.release()
                    connection.consumedInput()
                    return String(bytes, 0, end, Charsets.UTF_8)
                }
                scanned = searched
                // no end yet: the line is at least this long (a last '\r' may still be part of its end)
                val atLeast = if (scanned > 0 && r.peekByte(scanned - 1) == CR) scanned - 1 else scanned
                if (atLeast > maxLength) throw LimitExceededException("line", maxLength.toLong())
                if (!waitInput(scanned + 1)) {
                    if (r.len() == 0) return null
                    val rest = r.readString(r.len())
                    r.release()
                    connection.consumedInput()
                    return rest
                }
            }
        } finally {
            connection.leave()
        }
    }

    /**
     * Frees the memory of everything consumed; views returned earlier by [next], [peek] and [input]
     * become invalid. Never suspends. Example: `val v = conn.next(n); use(v); conn.release()`.
     * On a closed connection it does nothing.
     *
     * **Cancellation**: not a suspending call. Call it in a `finally` if a cancelled handler holds
     * views; closing the connection frees everything anyway.
     */
    public fun release() {
        connection.bufferedReader().release()
    }

    /**
     * Sends everything written to [output]: returns once the kernel took it (or at most the
     * write-queue limit is still queued), suspending while the socket is full; it does not suspend
     * when the socket takes everything at once. Only one flush at a time:
     * [ConcurrentAccessException] for a second, concurrent one.
     *
     * ```kotlin
     * conn.output.writeInt(payload.size); conn.output.writeBinary(payload)
     * conn.flush()
     * ```
     *
     * **Cancellation**: the wait ends with `CancellationException`; the bytes handed over stay queued
     * and are still sent, once and in order. **Deadline**: [WriteTimeoutException]; the bytes stay
     * queued and are still sent. **Close**: [io.netpoll.error.ConnectionClosedException]; unsent bytes
     * are dropped. A write that the peer's reset fails throws [io.netpoll.error.ConnectionResetException],
     * here and in every later flush while the connection is open, and drops unsent bytes; what the peer
     * sent before its reset stays readable, then the reads end as after a reset (the connection closes
     * at once if nothing was left). Once it has closed, flushes throw
     * [io.netpoll.error.ConnectionClosedException] caused by the reset.
     */
    public suspend fun flush() {
        if (sendNow()) return
        roomWait.flushSlow()
    }

    /** Sends what the socket takes now; true when the flush is complete (no suspending frame needed). */
    private fun sendNow(): Boolean {
        // free (no atomic) when resumed in place inside the poller's read round of this connection
        val token = connection.enterCallOrThrow()
        try {
            return connection.sender().send(true)
        } finally {
            connection.leaveCall(token)
        }
    }

    /**
     * Writes [bytes] (copied) and [flush]es. Example: `conn.writeAndFlush("PING\r\n".toByteArray())`.
     *
     * **Cancellation**, **Deadline** and **Close**: as [flush]. A cancelled call has handed the
     * bytes over already: they stay queued and are still sent, once and in order.
     */
    public suspend fun writeAndFlush(bytes: ByteArray) {
        output.writeBinary(bytes)
        flush()
    }

    /**
     * Shuts down the sending side once everything written was sent (also what a write-queue limit
     * let [flush] leave queued); the peer reads EOF; reading goes on. Suspends and fails as [flush].
     *
     * ```kotlin
     * conn.writeAndFlush(request); conn.shutdownOutput()   // "no more requests"
     * while (true) { val k = conn.readAvailable(buf); if (k < 0) break; ... }
     * ```
     *
     * **Cancellation**: as [flush]; the output is then not shut down.
     */
    public suspend fun shutdownOutput() {
        flush()
        roomWait.awaitSent()
        connection.shutdownOutput()
    }

    /**
     * Closes the connection; idempotent, safe from any thread, never suspends. A read or flush
     * suspended on it resumes with [io.netpoll.error.ConnectionClosedException]; unsent output is
     * dropped. Example: `conn.use { it.writeAndFlush(bye) }` closes at the end of the block.
     *
     * **Cancellation**: never suspends, so it cannot be cancelled; it is what a `finally` or
     * `use` runs after a cancellation. **Deadline**: none applies.
     */
    override fun close() {
        connection.close()
    }

    override fun toString(): String = "SuspendConnection($connection)"
}

private const val CR: Byte = '\r'.code.toByte()

private fun Duration.toJavaDuration(): java.time.Duration = java.time.Duration.ofNanos(inWholeNanoseconds)

/**
 * The System.nanoTime() at which this mark is reached: 0 (none) for null or a mark ~146 years or more
 * away ([Deadlines.FOREVER]; `markNow() + Duration.INFINITE` too), a past one as far back at most.
 */
private fun TimeMark?.toNanoTime(): Long {
    if (this == null) return 0
    val elapsed = elapsedNow().inWholeNanoseconds // negative until the mark is reached
    if (elapsed <= -Deadlines.FOREVER) return 0
    return Deadlines.nonZero(System.nanoTime() - minOf(elapsed, Deadlines.FOREVER))
}
