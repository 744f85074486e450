package io.netpoll.coroutines

import io.netpoll.poll.Poller
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import java.util.concurrent.ConcurrentHashMap
import kotlin.coroutines.CoroutineContext

/**
 * Runs coroutines on one [Poller]'s thread. A coroutine resumed by that poller (its read or write
 * became ready) continues right there, with no hand-off to another thread; from any other thread
 * the coroutine is queued to the poller.
 *
 * This is where netpoll server handlers run by default. Such a handler must not block the thread
 * (no `Thread.sleep`, no blocking I/O): every other connection on the same poller would wait. A
 * poller stuck for over a second is reported by netpoll's stall detector with the blocking stack.
 * Run blocking work with `withContext(Dispatchers.IO) { ... }`, or give the server another
 * `dispatcher`.
 *
 * ```kotlin
 * withContext(conn.dispatcher) {             // the connection's poller: no hand-off per wake-up
 *     while (conn.awaitReadable()) handle(conn)
 * }
 * ```
 *
 * **Cancellation**: a coroutine cancelled while it waits resumes on the poller thread, in place
 * when the cancel comes from that thread, else queued to it. Coroutines dispatched to a poller that
 * has stopped go on on `Dispatchers.IO` (their connections closed), so that they end.
 */
public class PollerDispatcher private constructor(
    /**
     * The poller whose thread this dispatcher runs coroutines on. Example:
     * `check(conn.dispatcher.poller == conn.connection.poller())`. **Cancellation**: a plain read.
     */
    public val poller: Poller,
) : CoroutineDispatcher() {
    override fun isDispatchNeeded(context: CoroutineContext): Boolean = !poller.inEventLoop()

    override fun dispatch(context: CoroutineContext, block: Runnable) {
        // a stopped poller runs nothing more: its coroutines (a handler that outlived its server's
        // shutdown in blocking code) end on Dispatchers.IO instead of never, as kotlinx does for an
        // executor that rejects; their connections are closed by then
        if (poller.isRunning()) poller.execute(block) else Dispatchers.IO.dispatch(context, block)
    }

    /** How deeply resumptions in place are nested on the poller thread now ([resumeHere]); poller thread only. */
    internal var nesting: Int = 0

    override fun toString(): String = "PollerDispatcher(${poller.name()})"

    /**
     * Where the dispatchers are found: [of]. Example: `PollerDispatcher.of(server.pollers[0])`.
     * **Cancellation**: nothing here suspends.
     */
    public companion object {
        private val byPoller = ConcurrentHashMap<Poller, PollerDispatcher>()

        /**
         * The dispatcher of [poller] (one per poller, made on first use). Example:
         * `withContext(PollerDispatcher.of(poller)) { ... }` runs the block on that poller's thread.
         *
         * **Cancellation**: not a suspending call. Coroutines dispatched to a poller that was
         * closed go on on `Dispatchers.IO` (their connections closed), so that they end.
         */
        public fun of(poller: Poller): PollerDispatcher = byPoller.computeIfAbsent(poller) { PollerDispatcher(it) }

        /** Resumptions in place nested deeper than this are queued to the poller instead. */
        internal const val MAX_NESTING: Int = 16

        internal fun forget(poller: Poller) {
            byPoller.remove(poller)
        }
    }
}
