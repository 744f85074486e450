package io.netpoll.coroutines

import io.netpoll.conn.NetConnection
import io.netpoll.error.ConcurrentAccessException
import io.netpoll.error.WriteTimeoutException
import io.netpoll.poll.PollDesc
import io.netpoll.timer.Deadlines
import io.netpoll.timer.Timeout
import kotlinx.coroutines.CancellationException

/**
 * The output side's waits of a [SuspendConnection]: a flush that the socket could not take at once
 * waits here for room in the send queue (`Sender.room`), bounded by the write timeout and the
 * absolute write deadline, and ended by close. One flushing coroutine at a time (a second gets
 * [ConcurrentAccessException]); [dispose] from any thread.
 */
internal class RoomWait(private val c: NetConnection, dispatcher: PollerDispatcher) {
    /** Parks flushes waiting for room in the send queue. */
    private val parker = Parker(c.sender().room, dispatcher)

    /** The rest of a flush the socket did not take at once: wait for room, send again, until it is complete. */
    suspend fun flushSlow() {
        c.enterOrThrow()
        try {
            val sender = c.sender()
            do awaitRoom { !sender.mustWait() } while (!sender.send(true))
        } finally {
            c.leave()
        }
    }

    /**
     * After a flush: waits until nothing is left queued (the send task sent what the write-queue limit
     * let the flush leave, or a write failed), as `shutdownOutput` needs before its `shutdown(2)`.
     */
    suspend fun awaitSent() {
        c.enterOrThrow()
        try {
            val sender = c.sender()
            awaitRoom { sender.idle() }
        } finally {
            c.leave()
        }
    }

    /** Suspends until [done], the write deadline or timeout ([WriteTimeoutException]), or close. */
    private suspend fun awaitRoom(done: () -> Boolean) {
        val sender = c.sender()
        // The write timeout bounds this wait from now on; the absolute write deadline may be moved
        // meanwhile (which wakes this wait), so the deadline in force is re-read on every pass and
        // the timer re-armed when it changed.
        val timeoutAt = Deadlines.after(System.nanoTime(), c.writeTimeoutNanos())
        var timer: Timeout? = null
        var armedFor = 0L
        try {
            while (true) {
                if (!c.isActive) throw c.closedError()
                if (done()) return
                val absolute = c.writeDeadlineNanos()
                val deadline = earliest(absolute, timeoutAt)
                if (deadline != 0L && System.nanoTime() - deadline >= 0) throw WriteTimeoutException()
                if (deadline != armedFor) {
                    timer?.cancel()
                    timer = if (deadline != 0L) c.poller().schedule(deadline) { sender.room.unblockAndWake(false) } else null
                    armedFor = deadline
                }
                try {
                    // re-checked after WAIT is published: a deadline moved, or a timer that fired (its
                    // wake-up found nobody and latched nothing), before that is seen here; one moved
                    // or fired after it wakes this waiter
                    parker.park {
                        if (done() || !c.isActive || c.writeDeadlineNanos() != absolute ||
                            deadline != 0L && System.nanoTime() - deadline >= 0
                        ) PollDesc.ERR_CLOSING else PollDesc.OK
                    }
                } catch (e: CancellationException) {
                    throw e // an IllegalStateException too, but not a double wait
                } catch (e: IllegalStateException) {
                    throw ConcurrentAccessException()
                }
            }
        } finally {
            timer?.cancel()
        }
    }

    /** Drops a parked coroutine's hook on its job (the connection closed). */
    fun dispose() {
        parker.dispose()
    }
}

/** The earlier of two nanoTime deadlines, 0 meaning none. */
private fun earliest(a: Long, b: Long): Long = when {
    a == 0L -> b
    b == 0L -> a
    a - b < 0 -> a
    else -> b
}
