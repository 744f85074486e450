package io.netpoll.coroutines

import io.netpoll.HandlerExecutors
import io.netpoll.buffer.BufferPool
import io.netpoll.client.DialAttempt
import io.netpoll.conn.Addresses
import io.netpoll.conn.ConnConfig
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.DialTimeoutException
import io.netpoll.poll.LoadBalance
import io.netpoll.poll.PollDesc
import io.netpoll.poll.PollerGroup
import io.netpoll.timer.Deadlines
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asExecutor
import kotlinx.coroutines.future.await
import kotlinx.coroutines.withTimeoutOrNull
import java.io.IOException
import java.net.SocketAddress
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.nanoseconds

/**
 * Dials with coroutines: the connect is non-blocking and the caller suspends on the socket's poll
 * descriptor until it is writable, then reads `SO_ERROR`.
 *
 * ```kotlin
 * val client = netpollClient { pollers = 1; readTimeout = 5.seconds }
 * client.dial("tcp", "127.0.0.1:8080").use { conn ->
 *     conn.output.writeString("PING\r\n")
 *     conn.flush()
 *     println(conn.readLine())
 * }
 * client.close()
 * ```
 *
 * Where a resumed client coroutine runs is up to the caller's context: code running in
 * `withContext(conn.dispatcher)` continues on the connection's poller thread with no hand-off
 * (fastest; the same rules as server handlers apply: never block there); any other dispatcher gets
 * a hand-off per wake-up.
 *
 * **Cancellation**: cancelling a suspended [dial] closes the half-open socket. **Errors**:
 * [io.netpoll.error.ConnectionRefusedException], [io.netpoll.error.UnreachableException],
 * [DialTimeoutException] (over all addresses of a name), [io.netpoll.error.UnsupportedException]
 * (unknown network or host).
 */
public class NetpollClient internal constructor(
    private val group: PollerGroup,
    private val config: ConnConfig,
    private val ownsGroup: Boolean,
) : AutoCloseable {

    /**
     * Connects to [address] on [network] (`tcp`, `tcp4`, `tcp6`: `host:port`, IPv6 as `[::1]:port`;
     * `unix`: a path, or `@name` for an abstract socket), trying each address of a name in turn.
     * A host name is looked up on [Dispatchers.IO], so dialing from a handler never blocks its poller.
     * [timeout] bounds the whole dial (`null`, zero or [Duration.INFINITE]: none; negative: it has
     * passed).
     *
     * ```kotlin
     * val conn = client.dial("tcp", "localhost:6379", timeout = 2.seconds)
     * ```
     *
     * **Cancellation**: the half-open socket is closed and no fd is left behind. **Deadline**:
     * [DialTimeoutException] once [timeout] passed over all addresses. **Close**: closing this
     * client while the dial waits (or before it) throws [io.netpoll.error.ConnectionClosedException]
     * and closes the socket. **Errors**: the last address's error
     * ([io.netpoll.error.ConnectionRefusedException], ...; a unix socket whose listener's queue is
     * full: [io.netpoll.error.SyscallException] with errno EAGAIN, at once).
     */
    public suspend fun dial(network: String, address: String, timeout: Duration? = null): SuspendConnection {
        if (timeout != null && timeout.isNegative()) throw DialTimeoutException()
        val deadline = Deadlines.after(System.nanoTime(), timeout.nanos())
        var last: IOException? = null
        for (a in resolve(network, address, deadline)) {
            if (deadline != 0L && System.nanoTime() - deadline >= 0) throw DialTimeoutException()
            val attempt = DialAttempt(a, group.next(), config)
            try {
                attempt.begin(deadline)
                while (attempt.connecting()) {
                    val pd = attempt.pollDesc()
                    pd.wg.park { pd.check(PollDesc.WRITE) } // a dial's one wait: no reusable slot
                    attempt.check()
                }
                return SuspendConnection(attempt.finish())
            } catch (e: DialTimeoutException) {
                attempt.abandon()
                throw e
            } catch (e: ConnectionClosedException) {
                attempt.abandon()
                throw e // the client closed: no other address can do better
            } catch (e: IOException) {
                attempt.abandon()
                last = e
            } catch (e: Throwable) {
                attempt.abandon()
                throw e
            }
        }
        throw last ?: IOException("no address to dial")
    }

    /**
     * The addresses to try. A host name is looked up on [Dispatchers.IO], never on the caller's
     * thread (a poller's, in a handler or after `withContext(conn.dispatcher)`: a slow name service
     * would stall every connection there). The dial waits for it up to its deadline (then
     * [DialTimeoutException]) or until cancelled, and a lookup that outlives the wait ends on its
     * own. IP literals and unix paths need no lookup.
     */
    private suspend fun resolve(network: String, address: String, deadline: Long): List<SocketAddress> {
        if (!Addresses.needsLookup(network, address)) return Addresses.resolve(network, address, false)
        // a future, not withContext: a lookup ignores interrupts, and the dial gives up on the wait
        // (its deadline, or cancellation) without waiting for the lookup to end
        val lookup = CompletableFuture.supplyAsync({ Addresses.resolve(network, address, false) }, Dispatchers.IO.asExecutor())
        val found = try {
            if (deadline == 0L) lookup.await() else withTimeoutOrNull((deadline - System.nanoTime()).nanoseconds) { lookup.await() }
        } catch (e: CompletionException) {
            throw e.cause ?: e
        }
        return found ?: throw DialTimeoutException()
    }

    /**
     * Stops this client's pollers (only for a client made with its own `pollers`) and closes their
     * connections: their suspended reads and flushes resume with
     * [io.netpoll.error.ConnectionClosedException]. The process-wide client is never stopped.
     * Example: `netpollClient { pollers = 1 }.use { client -> client.dial("tcp", addr) }`.
     *
     * **Cancellation**: never suspends; idempotent. Dials waiting on these pollers end with
     * `ConnectionClosedException` (their sockets closed).
     */
    override fun close() {
        // (not `group !== defaultGroup`: reading that lazy would start the shared pollers)
        if (ownsGroup) {
            group.close()
            group.pollers().forEach { PollerDispatcher.forget(it) }
        }
    }

    internal companion object {
        val defaultGroup: PollerGroup by lazy {
            PollerGroup("netpoll-kt-client", maxOf(1, PollerGroup.defaultSize() / 2), LoadBalance.ROUND_ROBIN)
        }
        val default: NetpollClient by lazy { NetpollClient(defaultGroup, ConnConfig.plain(), ownsGroup = false) }
    }
}

/**
 * Options of [netpollClient]; each connection it dials starts with them (a connection's own
 * `readTimeout` and the like can be changed later on the [SuspendConnection]). Example:
 * `netpollClient { pollers = 1; readTimeout = 5.seconds }`.
 *
 * **Cancellation**: setting an option never suspends; the client reads them once, when
 * [netpollClient] makes it.
 */
public class NetpollClientBuilder internal constructor() {
    /**
     * Pollers of a client of its own; `null` (default): the process-wide client pollers. Example:
     * `pollers = 1`. **Cancellation**: a client with pollers of its own stops them on `close()`,
     * which closes its connections too.
     */
    public var pollers: Int? = null

    /**
     * Bounds each read wait, counted from its start ([io.netpoll.error.ReadTimeoutException]);
     * `null`: none. Example: `readTimeout = 5.seconds`. **Cancellation**: the timeout is not a
     * `CancellationException`: the caller's scope goes on, nothing was consumed, and the connection
     * stays usable.
     */
    public var readTimeout: Duration? = null

    /**
     * Bounds each flush wait, counted from its start ([io.netpoll.error.WriteTimeoutException]);
     * `null`: none. Example: `writeTimeout = 5.seconds`. **Cancellation**: the timeout is not a
     * `CancellationException`; the bytes handed to `flush()` stay queued and are still sent.
     */
    public var writeTimeout: Duration? = null

    /**
     * Closes a connection after this long without traffic in either direction; `null`: never.
     * Example: `idleTimeout = 60.seconds`. **Cancellation**: nothing is cancelled; the next call
     * (or the wait in progress) ends with [io.netpoll.error.ConnectionClosedException], caused by
     * [io.netpoll.error.IdleTimeoutException].
     */
    public var idleTimeout: Duration? = null

    /**
     * Read backpressure: reading pauses while this many bytes wait unread. Example:
     * `maxInputBytes = 1 shl 20`. **Cancellation**: not involved. A read that needs more bytes than
     * this still completes: while it waits, reading goes on until that many are buffered.
     */
    public var maxInputBytes: Int = ConnConfig.DEFAULT_MAX_INPUT

    /**
     * `flush()` returns once at most this many bytes stay queued (default 0: all sent). Example:
     * `writeQueueLimit = 64 * 1024`. **Cancellation**: bytes left queued are sent by the poller
     * whatever happens to the caller afterwards, until the connection closes.
     */
    public var writeQueueLimit: Long = 0
}

/**
 * A client with the given options (see [NetpollClient]); never suspends.
 *
 * ```kotlin
 * netpollClient { pollers = 1; readTimeout = 5.seconds }.use { client ->
 *     client.dial("unix", "/run/app.sock").use { conn -> conn.writeAndFlush(ping) }
 * }
 * ```
 *
 * **Cancellation**: not a suspending call. The client is not tied to a scope: a client with
 * `pollers` of its own runs until `close()` (or `use`) stops them and closes its connections.
 */
public fun netpollClient(block: NetpollClientBuilder.() -> Unit = {}): NetpollClient {
    val b = NetpollClientBuilder().apply(block)
    val config = ConnConfig(
        HandlerExecutors.inline(), null, null, null,
        b.readTimeout.nanos(), b.writeTimeout.nanos(), b.idleTimeout.nanos(),
        b.maxInputBytes, b.writeQueueLimit, BufferPool.defaultPool(),
    )
    val own = b.pollers?.let { PollerGroup("netpoll-kt-client", it, LoadBalance.ROUND_ROBIN) }
    return NetpollClient(own ?: NetpollClient.defaultGroup, config, ownsGroup = own != null)
}

/**
 * Dials with the process-wide default client; see [NetpollClient.dial] for addresses and errors.
 * Example: `dial("tcp", "127.0.0.1:7000").use { it.writeAndFlush(bytes) }`.
 *
 * **Cancellation**: as [NetpollClient.dial]: the half-open socket is closed and no fd is left
 * behind. **Deadline**: [DialTimeoutException] once [timeout] passed.
 */
public suspend fun dial(network: String, address: String, timeout: Duration? = null): SuspendConnection =
    NetpollClient.default.dial(network, address, timeout)

/**
 * The dispatcher of this connection's poller: code in `withContext(conn.dispatcher) { ... }` resumes
 * there with no hand-off after each wait (it must then never block the thread). Example:
 * `withContext(conn.dispatcher) { while (conn.awaitReadable()) handle(conn) }`.
 *
 * **Cancellation**: a coroutine cancelled while it waits resumes on the poller thread (queued there
 * when the cancel comes from another thread); once the poller has stopped (its client or server
 * closed), coroutines dispatched to it go on on `Dispatchers.IO` (their connections closed), so
 * that they end.
 */
public val SuspendConnection.dispatcher: PollerDispatcher get() = pollerDispatcher

/** This timeout in nanoseconds, 0 for none: `null`, zero, negative, or [Duration.INFINITE] (and anything past ~146 years). */
internal fun Duration?.nanos(): Long = if (this == null) 0 else Deadlines.timeoutNanos(inWholeNanoseconds)
