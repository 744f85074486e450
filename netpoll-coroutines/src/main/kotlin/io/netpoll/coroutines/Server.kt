package io.netpoll.coroutines

import io.netpoll.HandlerExecutors
import io.netpoll.Listener
import io.netpoll.ShutdownReport
import io.netpoll.buffer.BufferPool
import io.netpoll.conn.ConnConfig
import io.netpoll.conn.NetConnection
import io.netpoll.error.ConnectionClosedException
import io.netpoll.poll.LoadBalance
import io.netpoll.poll.Poller
import io.netpoll.poll.PollerGroup
import io.netpoll.poll.StallDetector
import io.netpoll.server.Acceptor
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.delay
import kotlinx.coroutines.joinAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import java.net.SocketAddress
import kotlin.coroutines.AbstractCoroutineContextElement
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.CoroutineContext
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.TimeUnit
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * A connection handler: one coroutine per connection, straight-line code. Example:
 * `val echo: ConnectionHandler = { conn -> while (conn.awaitReadable()) { ... } }`.
 *
 * **Cancellation**: the server cancels it at shutdown (after the grace period) or with its scope;
 * the connection is closed when it returns, throws or is cancelled.
 */
public typealias ConnectionHandler = suspend (SuspendConnection) -> Unit

/**
 * Options of [netpollServer], set inside its block:
 *
 * ```kotlin
 * netpollServer {
 *     listen("tcp", "127.0.0.1:7000")
 *     pollers = 2
 *     idleTimeout = 60.seconds
 *     handle { conn -> echo(conn) }
 * }
 * ```
 *
 * **Cancellation**: setting an option never suspends. The server reads the options once, when
 * [netpollServer] starts it; changing the builder later does nothing.
 */
public class NetpollServerBuilder internal constructor() {
    internal val listens = mutableListOf<Pair<String, String>>()
    internal var handler: ConnectionHandler? = null

    /**
     * Connection pollers (default: one per available processor); one more thread accepts. Example:
     * `pollers = 2`. **Cancellation**: each poller is a thread the server owns; shutdown or the
     * scope's cancellation stops them after the handlers have finished.
     */
    public var pollers: Int = PollerGroup.defaultSize()

    /**
     * How accepted connections are spread over the pollers: round robin (default) or random.
     * Example: `loadBalance = LoadBalance.RANDOM`. **Cancellation**: not involved; it only picks
     * the poller a new connection's handler runs on.
     */
    public var loadBalance: LoadBalance = LoadBalance.ROUND_ROBIN

    /**
     * Bounds each read wait in handlers, counted from the start of the wait; `null`: none. Example:
     * `readTimeout = 5.seconds`. **Cancellation**: a wait that times out ends with
     * [io.netpoll.error.ReadTimeoutException], not a `CancellationException`: the handler is not
     * cancelled, nothing was consumed, and it may read again. `withTimeout` in a handler cancels
     * instead (see [SuspendConnection]).
     */
    public var readTimeout: Duration? = null

    /**
     * Bounds each flush wait (a full socket), counted from the start of the wait; `null`: none.
     * Example: `writeTimeout = 5.seconds`. **Cancellation**: a wait that times out ends with
     * [io.netpoll.error.WriteTimeoutException], not a `CancellationException`; the bytes handed to
     * `flush()` stay queued and are still sent.
     */
    public var writeTimeout: Duration? = null

    /**
     * Closes connections without traffic in either direction for this long; `null`: never. Example:
     * `idleTimeout = 60.seconds`. **Cancellation**: the handler is not cancelled; its next call (or
     * the wait it is in) ends with [ConnectionClosedException], caused by
     * [io.netpoll.error.IdleTimeoutException].
     */
    public var idleTimeout: Duration? = null

    /**
     * Read backpressure: reading pauses while this many bytes wait unread (default 4 MiB). Example:
     * `maxInputBytes = 1 shl 20`. **Cancellation**: not involved. A read that needs more bytes than
     * this still completes: while it waits, reading goes on until that many are buffered.
     */
    public var maxInputBytes: Int = ConnConfig.DEFAULT_MAX_INPUT

    /**
     * `flush()` returns once at most this many bytes stay queued (default 0: all sent). Example:
     * `writeQueueLimit = 64 * 1024`. **Cancellation**: bytes left queued are sent by the poller
     * whatever happens to the handler afterwards, until the connection closes. A handler that
     * returns normally closes its connection only once they are sent (or the write timeout passes);
     * one that throws or is cancelled closes it at once and drops them.
     */
    public var writeQueueLimit: Long = 0

    /**
     * Where handlers run. `null` (default): on the poller thread of their connection, resumed in
     * place with no hand-off (fastest; a handler must then never block the thread). Give a
     * dispatcher (e.g. `Dispatchers.Default`) for handlers that compute for long: one hand-off per
     * wake-up, and they cannot stall other connections. Example: `dispatcher = Dispatchers.Default`.
     *
     * **Cancellation** works the same on either: a cancelled handler's wait ends at once, from any
     * thread; on the poller it resumes in place, elsewhere it is dispatched first.
     */
    public var dispatcher: CoroutineDispatcher? = null

    /**
     * A poller busy this long in one go (a handler blocking its thread) is reported with its stack;
     * `null` disables the check. Example: `stallThreshold = 200.milliseconds`. **Cancellation**: the
     * check only reports; it cancels nothing (a blocked thread cannot be resumed anyway).
     */
    public var stallThreshold: Duration? = 1.seconds

    /**
     * Called when a handler throws (its connection is then closed); the default logs it. The peer
     * leaving is no error: a [io.netpoll.error.ConnectionResetException] (a read or a flush that met
     * its reset) or a [ConnectionClosedException] after its reset or a close; nor is cancellation
     * at shutdown.
     * Example: `onError = { conn, e -> metrics.failed(conn.remoteAddress, e) }`.
     *
     * **Cancellation**: a handler that ends with a `CancellationException` is not reported, except a
     * `TimeoutCancellationException` from the handler's own `withTimeout` (the handler itself was
     * not cancelled: it gave up). The callback runs on the handler's thread and must not suspend or
     * block.
     */
    public var onError: (SuspendConnection, Throwable) -> Unit = { conn, e ->
        System.getLogger("io.netpoll.coroutines").log(System.Logger.Level.WARNING, "handler failed on $conn", e)
    }

    /**
     * Listens on [address] of [network] (`tcp`, `tcp4`, `tcp6`, `unix`); call once or more. Example:
     * `listen("tcp", "127.0.0.1:0"); listen("unix", "/run/app.sock")`. **Cancellation**: never
     * suspends; the listeners are bound when [netpollServer] starts, and closed at shutdown.
     */
    public fun listen(network: String, address: String) {
        listens += network to address
    }

    /**
     * The handler, run in its own coroutine for each connection; the connection is closed when it
     * returns or throws. Example: `handle { conn -> while (conn.awaitReadable()) echo(conn) }`.
     *
     * **Cancellation**: the handler is cancelled at shutdown (after the grace period) or with the
     * server's scope; its suspended call ends with `CancellationException` and its connection is
     * closed.
     */
    public fun handle(handler: ConnectionHandler) {
        this.handler = handler
    }
}

/**
 * Starts a server in this scope:
 *
 * ```kotlin
 * val server = netpollServer {
 *     listen("tcp", "127.0.0.1:0")
 *     pollers = 2
 *     readTimeout = 5.seconds
 *     handle { conn ->
 *         while (true) {
 *             val line = conn.readLine() ?: break     // null: the client finished
 *             conn.output.writeString(line.uppercase() + "\n")
 *             conn.flush()
 *         }
 *     }
 * }
 * println(server.address)                              // the bound address
 * server.shutdown(grace = 2.seconds)
 * ```
 *
 * The listeners are bound before this returns (bind errors are thrown here). Each connection gets
 * its own handler coroutine; when it returns or throws, the connection is closed. A handler that
 * throws closes only its own connection; the error goes to [NetpollServerBuilder.onError].
 *
 * **Structured concurrency.** The server runs as a child coroutine of this scope, and the scope does
 * not complete before every handler has, with one exception: a cancelled handler still running one
 * second after its cancellation (blocking code that ignores it, a long non-cancellable cleanup) is
 * left to end by itself, its connection closed, so that a stuck handler cannot hold the scope for
 * ever. Handlers run under a supervisor owned by the server (not the scope's job: cancelling the
 * scope gives them the grace period first, it does not cancel them at once), with
 * the scope's other context elements (an MDC context, a tracing element, your own keys); a
 * `ThreadContextElement` among them makes each wake-up of a read go through the dispatcher's queue
 * instead of resuming the handler in place, which costs a little per read.
 *
 * **Cancellation.** Cancelling the scope, or calling [NetpollServer.shutdown], stops accepting, closes
 * connections whose handler is idle (suspended in a read with no unread input and nothing queued
 * to send: a handler that waits for the rest of a request the peer has not sent yet counts as idle
 * too), gives the others the grace period (5 s when the scope is cancelled), then cancels them and
 * closes their connections. A connection accepted just before the stop whose request was already
 * read gets its handler, and the same grace. A handler that returns has its flushed bytes sent
 * before its connection closes (bytes a write-queue limit left queued; bounded by the write timeout).
 */
public fun CoroutineScope.netpollServer(block: NetpollServerBuilder.() -> Unit): NetpollServer {
    val b = NetpollServerBuilder().apply(block)
    val handler = requireNotNull(b.handler) { "netpollServer needs handle { ... }" }
    require(b.listens.isNotEmpty()) { "netpollServer needs listen(network, address)" }
    val server = NetpollServer(this, b, handler)
    server.start()
    return server
}

/**
 * A running server; see [netpollServer]. Example:
 *
 * ```kotlin
 * val server = netpollServer { listen("tcp", "127.0.0.1:0"); handle { conn -> serve(conn) } }
 * println("listening on ${server.address}, ${server.connections} connections")
 * val report = server.shutdown(grace = 2.seconds)
 * ```
 *
 * **Cancellation**: see [netpollServer] and [shutdown]; cancelling the scope the server was
 * started in shuts it down with a 5 s grace period.
 */
public class NetpollServer internal constructor(
    private val scope: CoroutineScope,
    private val options: NetpollServerBuilder,
    private val handler: ConnectionHandler,
) {
    private val config = ConnConfig(
        HandlerExecutors.inline(), null, null, null,
        options.readTimeout.nanos(), options.writeTimeout.nanos(), options.idleTimeout.nanos(),
        options.maxInputBytes, options.writeQueueLimit, BufferPool.defaultPool(),
    )
    private val handlers = SupervisorJob()

    /**
     * The scope's context elements that handlers inherit (an MDC context, a tracing span, your own
     * keys): all but its job (handlers run under [handlers]) and its dispatcher, name and exception
     * handler, which the server sets itself (handler failures go to onError).
     */
    private val inherited = scope.coroutineContext
        .minusKey(Job).minusKey(ContinuationInterceptor).minusKey(CoroutineName).minusKey(CoroutineExceptionHandler)
    private val live = ConcurrentHashMap.newKeySet<SuspendConnection>()
    private val jobOf = ConcurrentHashMap<SuspendConnection, Job>()
    private lateinit var group: PollerGroup
    private lateinit var acceptPoller: Poller
    private val acceptors = mutableListOf<Acceptor>()
    private val listeners = mutableListOf<Listener>()
    private lateinit var serverJob: Job
    private val report = CompletableDeferred<ShutdownReport>()
    @Volatile private var stopping = false
    private val stopLock = Any()

    /**
     * The first listener's bound address (the real port when listening on port 0). Example:
     * `val port = (server.address as InetSocketAddress).port`. **Cancellation**: a plain read; it
     * stays the same after shutdown.
     */
    public val address: SocketAddress get() = listeners.first().address()

    /**
     * Every listener's bound address, in the order of the `listen` calls. Example:
     * `server.addresses.forEach(::println)`. **Cancellation**: a plain read.
     */
    public val addresses: List<SocketAddress> get() = listeners.map { it.address() }

    /**
     * Connections open now. A closed connection leaves the count once its close callbacks ran,
     * shortly after it closes. Example: `check(server.connections < 10_000)`. **Cancellation**: a
     * plain read; 0 once shutdown has closed every connection.
     */
    public val connections: Int get() = live.size

    /**
     * The connection pollers, e.g. for [PollerDispatcher.of]. Example:
     * `withContext(PollerDispatcher.of(server.pollers[0])) { ... }`. **Cancellation**: a plain read;
     * the pollers stop at shutdown.
     */
    public val pollers: List<Poller> get() = group.pollers()

    internal fun start() {
        for ((network, address) in options.listens) {
            try {
                listeners += Listener.create(network, address)
            } catch (e: Throwable) {
                listeners.forEach { it.close() }
                throw e
            }
        }
        try {
            group = PollerGroup("netpoll", options.pollers, options.loadBalance)
            acceptPoller = Poller("netpoll-accept")
            options.stallThreshold?.let { t -> group.pollers().forEach { StallDetector.watch(it, t.inWholeNanoseconds) } }
            for (l in listeners) {
                l.handOver()
                val a = Acceptor(l, acceptPoller) { fd -> accepted(fd) }
                acceptors += a
                a.start()
            }
        } catch (e: Throwable) {
            // out of threads or fds half way: release what was made, so a failed start leaks nothing
            acceptors.forEach { it.stop() }
            listeners.forEach { it.close() }
            if (this::acceptPoller.isInitialized) acceptPoller.close()
            if (this::group.isInitialized) group.close()
            throw e
        }
        scheduleTrim()
        serverJob = scope.launch(CoroutineName("netpoll-server"), start = CoroutineStart.UNDISPATCHED) {
            try {
                awaitCancellation()
            } finally {
                withContext(NonCancellable) { stop(DEFAULT_GRACE) }
            }
        }
    }

    private fun scheduleTrim() {
        acceptPoller.schedule(System.nanoTime() + TimeUnit.SECONDS.toNanos(1)) {
            config.pool().trim(group.pollers())
            if (!stopping) scheduleTrim()
        }
    }

    private fun accepted(fd: Int) {
        val conn = NetConnection(fd, group.next(), config)
        try {
            startConnection(fd, conn)
        } catch (e: Throwable) {
            // the connection owns the fd now: close it through the connection, once (rethrown, the
            // acceptor would close the number again, which another socket may have taken meanwhile)
            System.getLogger("io.netpoll.coroutines").log(System.Logger.Level.WARNING, "starting a handler failed; closing $conn", e)
            conn.closeWith(e)
        }
    }

    private fun startConnection(fd: Int, conn: NetConnection) {
        if (stopping) {
            conn.close()
            return
        }
        val sc = SuspendConnection(conn)
        live += sc
        conn.addCloseCallback {
            live -= sc
            jobOf.remove(sc)
        }
        conn.start()
        val own = options.dispatcher
        if (own != null) {
            // a handler cancelled before its dispatcher ran it (shutdown, or an executor that rejects)
            // never runs its body, nor the finally that closes the connection: close it here too
            launchHandler(fd, sc, own, CoroutineStart.DEFAULT).also { remember(sc, it) }.invokeOnCompletion { cause ->
                // the body's finally closed it (after a normal return, once its bytes are sent) unless
                // the job never ran it: only a job that ended with a cause may have skipped it
                if (cause != null) conn.close()
                // a dispatcher that refused the handler (an executor shut down, a full queue): the
                // job is cancelled with the refusal as its cause; say so, or the connection vanishes
                if (cause != null && !stopping && rejected(cause)) options.onError(sc, cause)
            }
        } else {
            // on the connection's poller, started in place inside a round of its own: the handler's
            // calls up to its first suspension enter the connection for free, as every later
            // resumption from a read round does
            val poller = conn.poller()
            poller.execute {
                // shut down before its handler began: closed if it is idle; a request already read
                // gets its handler, which the shutdown's grace waits for like the others
                if (stopping && conn.inputLen() == 0) conn.close()
                else conn.inRound { remember(sc, launchHandler(fd, sc, PollerDispatcher.of(poller), CoroutineStart.UNDISPATCHED)) }
            }
        }
    }

    /** Which handler serves [sc], while it is open (the shutdown's count needs it); dropped at its close. */
    private fun remember(sc: SuspendConnection, job: Job) {
        jobOf[sc] = job
        if (!sc.connection.isActive) jobOf.remove(sc) // closed before this: its close callback has run or will find nothing
    }

    private fun launchHandler(fd: Int, sc: SuspendConnection, dispatcher: CoroutineDispatcher, start: CoroutineStart): Job {
        val mark = HandlerMark(this)
        return CoroutineScope(inherited + handlers + dispatcher + CoroutineName("netpoll-conn-$fd") + mark).launch(start = start) {
            mark.job = coroutineContext[Job]
            var returned = false
            try {
                sc.prepareReads(coroutineContext)
                handler(sc)
                returned = true
            } catch (e: CancellationException) {
                // a withTimeout of the handler's own that gave up: its job is not cancelled
                if (e is TimeoutCancellationException && coroutineContext[Job]?.isActive == true) options.onError(sc, e)
                throw e
            } catch (e: Throwable) {
                // the peer's reset, a close, or any closed error while stopping: not a handler failure
                if (!NetConnection.endedByPeerOrClose(e) && !(stopping && e is ConnectionClosedException)) {
                    options.onError(sc, e)
                }
            } finally {
                // a handler that returned after a flush that left bytes queued (writeQueueLimit) has
                // its answer sent before the close (bounded by the write timeout); otherwise close now
                if (returned) sc.connection.closeWhenSent() else sc.connection.close()
            }
        }
    }

    /** Marks a handler's context (it survives `withContext(NonCancellable)`): whose handler, which job. */
    private class HandlerMark(val server: NetpollServer) : AbstractCoroutineContextElement(HandlerMark) {
        @Volatile var job: Job? = null

        companion object Key : CoroutineContext.Key<HandlerMark>
    }

    private fun rejected(cause: Throwable): Boolean {
        var c: Throwable? = cause
        repeat(8) {
            if (c is RejectedExecutionException) return true
            c = c?.cause ?: return false
        }
        return false
    }

    /**
     * Graceful shutdown: stop accepting, close idle connections, give busy handlers [grace], then
     * cancel them and close their connections, and stop the pollers. Returns what it had to force.
     * Idempotent: later calls wait for and return the first report. Once begun it runs to the end
     * (at most about [grace] plus one second for the cancelled handlers to end, plus the time to
     * stop) even if the calling coroutine is cancelled, so it may be called from a `finally` block.
     * A cancelled handler that is still running after that second (blocking code, which ignores
     * cancellation) is left to end by itself: its connection is closed and the pollers are stopped.
     *
     * It may also be called from one of this server's own handlers (a shutdown command): it does not
     * wait for that handler, which is not counted in the report and is cancelled by the time this
     * returns (it goes on to its next suspension point); its connection is closed with the others,
     * so answer before calling this. (Called from a handler while another shutdown is under way, it
     * waits for that one's report like any later call; that shutdown counts the calling handler as
     * busy, so it waits out its whole grace period and then cancels it with the late handlers.)
     *
     * ```kotlin
     * val report = server.shutdown(grace = 2.seconds)
     * if (report.forced() > 0) log.warn("cut off ${report.forced()} busy connections")
     * ```
     *
     * **Cancellation**: cancelling the caller does not stop a shutdown that began (see above).
     * **Deadline**: [grace]; handlers still running then are cancelled (their suspended reads and
     * flushes end with `CancellationException`) and their connections closed.
     */
    public suspend fun shutdown(grace: Duration = DEFAULT_GRACE): ShutdownReport {
        val r = stop(grace)
        serverJob.cancel()
        return r
    }

    private suspend fun stop(grace: Duration): ShutdownReport {
        // a handler of this server shutting it down must not wait for itself (found by its mark, which
        // a withContext(NonCancellable) in its finally keeps, unlike its job's parent chain)
        val ctx = currentCoroutineContext()
        val caller = ctx[HandlerMark]?.takeIf { it.server === this }?.job ?: handlerOf(ctx[Job])
        val first = synchronized(stopLock) {
            if (stopping) {
                false
            } else {
                stopping = true
                acceptors.forEach { it.stop() }
                true
            }
        }
        // Once begun, a shutdown runs to the end even if its caller is cancelled (shutdown from a
        // `finally`, or the scope's own cancellation): half-stopped, the pollers would run forever
        // and every later caller, the server's scope included, would wait forever. Later callers
        // wait for it the same way (it is bounded by the grace period).
        // A handler waits cancellably: the shutdown under way cancels it with the others (else each
        // would wait for the other forever).
        if (!first) return if (caller != null) report.await() else withContext(NonCancellable) { report.await() }
        return withContext(NonCancellable) {
            try {
                stopNow(grace, caller).also { report.complete(it) }
            } catch (e: Throwable) {
                report.completeExceptionally(e)
                throw e
            }
        }
    }

    /** Stops; [caller] is the handler of this server that called [shutdown], if any: nothing waits for it. */
    private suspend fun stopNow(grace: Duration, caller: Job?): ShutdownReport {
        val start = System.nanoTime()
        // every handler, taken before the idle ones are closed: those finish at once and would
        // otherwise be missing from the count (idle + drained + forced = handlers running now)
        val busy = handlers.children.filter { it !== caller }.toList()
        val closedIdle = HashSet<SuspendConnection>()
        val closedIdleJobs = HashSet<Job>() // their handlers end on their own: never forced
        // handlers that start meanwhile (a connection accepted just before the stop, whose request was
        // already read) are waited for too, within the same grace; a handler that comes back to an
        // idle read is closed as idle on the next pass; a connection whose returned handler left bytes
        // queued is waited for until they are sent
        val counted = HashSet<Job>(busy)
        val deadline = TimeSource.Monotonic.markNow() + grace
        var finished = false
        var idle = 0 // idle at the first look; one that goes idle later was busy, and counts as drained
        var firstLook = true
        while (true) {
            for (sc in openNow()) {
                if (sc !in closedIdle && isIdle(sc)) {
                    closedIdle += sc
                    jobOf[sc]?.let { closedIdleJobs += it }
                    if (firstLook) idle++
                    sc.close()
                }
            }
            firstLook = false
            val running = handlers.children.filter { it !== caller && it.isActive }.toList()
            counted += running
            if (running.isEmpty() && openNow().none { it.connection.isActive && !it.connection.sender().idle() }) {
                finished = true
                break
            }
            val left = -deadline.elapsedNow()
            if (!left.isPositive()) break
            val poll = minOf(left, GRACE_POLL)
            realTime {
                // nothing to join (only bytes left to send): wait the poll time, never spin
                if (running.isEmpty()) delay(poll) else withTimeoutOrNull(poll) { running.joinAll() }
            }
        }
        var forced = 0
        if (!finished) {
            val late = handlers.children.filter { it !== caller && it.isActive && it !in closedIdleJobs }.toList()
            // and connections whose handler returned with bytes the peer has not taken yet
            val unsent = openNow().filter { it.connection.isActive && !it.connection.sender().idle() && jobOf[it] !in late }
            forced = late.size + unsent.size
            counted += late
            unsent.forEach { sc -> jobOf[sc]?.let { counted += it } } // counted once: as forced, not drained
            late.forEach { it.cancel() }
            openNow().forEach { it.close() }
        }
        handlers.cancel() // the caller too: it goes on until its next suspension
        // Cancelled handlers end at their next suspension; one inside blocking code (a
        // withContext(Dispatchers.IO) { ... } that ignores cancellation) cannot be stopped, and
        // waiting for it could take for ever: its connection is closed, so stop without it.
        realTime { withTimeoutOrNull(STRAGGLERS) { handlers.children.filter { it !== caller }.toList().joinAll() } }
        group.close()
        acceptPoller.close()
        group.pollers().forEach { PollerDispatcher.forget(it) }
        val drained = maxOf(0, counted.size - idle - forced)
        return ShutdownReport(idle, drained, forced, java.time.Duration.ofNanos(System.nanoTime() - start))
    }

    /**
     * Runs a timed wait on the real clock whatever the caller's dispatcher is (a test dispatcher's
     * virtual time would end the grace at once while handlers run on real threads). Only inside the
     * shutdown's NonCancellable block: coming back from another dispatcher is then never cancelled.
     */
    private suspend fun <T> realTime(block: suspend CoroutineScope.() -> T): T =
        // Unconfined has no clock of its own, so timeouts inside use the coroutines library's own
        // timer thread; and it needs no thread (Dispatchers.IO's could all be taken by stuck handlers)
        withContext(Dispatchers.Unconfined, block)

    /** The handler coroutine of this server that [job] is, or runs inside of; null if none. */
    @OptIn(ExperimentalCoroutinesApi::class)
    private fun handlerOf(job: Job?): Job? {
        var j = job
        while (j != null) {
            val parent = j.parent
            if (parent === handlers) return j
            j = parent
        }
        return null
    }

    /**
     * A snapshot of the open connections. Close callbacks remove connections meanwhile: `toList()`
     * reads `size` and then iterates, so a connection closing in between made it throw
     * NoSuchElementException; `toArray`, which ArrayList's constructor uses, is safe.
     */
    private fun openNow(): List<SuspendConnection> = ArrayList(live)

    private fun isIdle(sc: SuspendConnection): Boolean {
        val c = sc.connection
        return c.inputLen() == 0 && c.sender().idle() && c.pollDesc().rg.hasWaiter()
    }

    private companion object {
        val DEFAULT_GRACE: Duration = 5.seconds

        /** How often the grace looks again for handlers that went idle, started, or finished sending. */
        val GRACE_POLL: Duration = 10.milliseconds

        /** How long a shutdown waits for cancelled handlers to end before it stops without them. */
        val STRAGGLERS: Duration = 1.seconds
    }
}
