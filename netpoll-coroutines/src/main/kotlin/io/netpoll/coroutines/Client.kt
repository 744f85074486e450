package io.netpoll.coroutines

import io.netpoll.HandlerExecutors
import io.netpoll.buffer.BufferPool
import io.netpoll.client.DialAttempt
import io.netpoll.conn.Addresses
import io.netpoll.conn.ConnConfig
import io.netpoll.error.DialTimeoutException
import io.netpoll.poll.LoadBalance
import io.netpoll.poll.PollDesc
import io.netpoll.poll.PollerGroup
import java.io.IOException
import kotlin.time.Duration

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
     * [timeout] bounds the whole dial (`null` or zero: none).
     *
     * ```kotlin
     * val conn = client.dial("tcp", "localhost:6379", timeout = 2.seconds)
     * ```
     *
     * **Cancellation**: the half-open socket is closed and no fd is left behind. **Deadline**:
     * [DialTimeoutException] once [timeout] passed over all addresses. **Errors**: the last
     * address's error ([io.netpoll.error.ConnectionRefusedException], ...).
     */
    public suspend fun dial(network: String, address: String, timeout: Duration? = null): SuspendConnection {
        val deadline = if (timeout == null || timeout == Duration.ZERO) 0L else System.nanoTime() + timeout.inWholeNanoseconds
        var last: IOException? = null
        for (a in Addresses.resolve(network, address, false)) {
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
     * Stops this client's pollers (only for a client made with its own `pollers`) and closes their
     * connections: their suspended reads and flushes resume with
     * [io.netpoll.error.ConnectionClosedException]. The process-wide client is never stopped.
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

/** Options of [netpollClient]; each connection it dials starts with them. */
public class NetpollClientBuilder internal constructor() {
    /** Pollers of a client of its own; `null` (default): the process-wide client pollers. */
    public var pollers: Int? = null
    /** Bounds each read wait ([io.netpoll.error.ReadTimeoutException]); `null`: none. */
    public var readTimeout: Duration? = null
    /** Bounds each flush wait ([io.netpoll.error.WriteTimeoutException]); `null`: none. */
    public var writeTimeout: Duration? = null
    /** Closes a connection after this long without traffic; `null`: never. */
    public var idleTimeout: Duration? = null
    /** Read backpressure: reading pauses while this many bytes wait unread. */
    public var maxInputBytes: Int = ConnConfig.DEFAULT_MAX_INPUT
    /** `flush()` returns once at most this many bytes stay queued. */
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
 * Dials with the process-wide default client; see [NetpollClient.dial] for addresses, errors and
 * cancellation. Example: `dial("tcp", "127.0.0.1:7000").use { it.writeAndFlush(bytes) }`.
 */
public suspend fun dial(network: String, address: String, timeout: Duration? = null): SuspendConnection =
    NetpollClient.default.dial(network, address, timeout)

/**
 * The dispatcher of this connection's poller: code in `withContext(conn.dispatcher) { ... }` resumes
 * there with no hand-off after each wait (it must then never block the thread).
 */
public val SuspendConnection.dispatcher: PollerDispatcher get() = pollerDispatcher

internal fun Duration?.nanos(): Long = if (this == null || this.isNegative()) 0 else inWholeNanoseconds
