package io.netpoll.conn;

import io.netpoll.error.IdleTimeoutException;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.Poller;
import io.netpoll.poll.Waiter;
import io.netpoll.timer.Deadlines;
import io.netpoll.timer.Timeout;

import java.time.Duration;
import java.time.Instant;

/**
 * {@link NetConnection}'s timeouts and deadlines. A read or write wait ends at the earlier of its
 * absolute deadline ({@link #setReadDeadlineNanos}, {@link #setWriteDeadlineNanos}: a
 * {@link System#nanoTime()} value, 0 = none) and the wait's start plus its timeout
 * ({@link #claimReadWait}; {@link Sender#awaitRoom} for writes). The idle timeout is a timer on the
 * poller's wheel: when due it closes the connection with an {@link IdleTimeoutException} if no traffic
 * was stamped for that long, else it re-arms for the last stamp plus the timeout. Traffic (the poller's
 * reads, the sends) is stamped in {@link #lastActivity} only while an idle timeout is set.
 *
 * <p>One link of {@link NetConnection}'s class chain (see there), after {@link ConnLifetime}.
 */
public abstract sealed class ConnTimeouts extends ConnLifetime permits ConnReadSide {
    volatile long readTimeoutNanos;
    volatile long writeTimeoutNanos;
    volatile long idleTimeoutNanos;
    /** Absolute System.nanoTime() deadlines, 0 = none. */
    volatile long readDeadline;
    volatile long writeDeadline;
    volatile long lastActivity;
    /*
     * The read wait in progress, guarded by readWaitLock (as are the writes of readDeadline):
     * readWaiting: false → true by claimReadWait, for the one read that waits → false by its
     * releaseReadWait. A second read that would wait meanwhile is refused before it touches anything.
     * readWaitBound: 0 → that wait's start plus the read timeout (0 without one), with the claim → 0
     * with the release. Under the same lock the descriptor's READ deadline is set, whenever either of
     * them or readDeadline changes, to the earlier of readDeadline and readWaitBound: moving the
     * absolute deadline during a wait keeps the wait's own bound.
     */
    private final Object readWaitLock = new Object();
    private boolean readWaiting;
    private long readWaitBound;

    /**
     * The idle timer in force, or null: written on the poller thread only (armed, re-armed, fired);
     * read by a close on any thread, which cancels it ({@link #disarmIdle}), so a closed connection is
     * not kept reachable from the wheel until the timer's due time.
     */
    private volatile Timeout idleTimer;

    ConnTimeouts(int fd, Poller poller, ConnConfig config, PollDesc registered) {
        super(fd, poller, config, registered);
        this.readTimeoutNanos = Deadlines.timeoutNanos(config.readTimeoutNanos());
        this.writeTimeoutNanos = Deadlines.timeoutNanos(config.writeTimeoutNanos());
        this.idleTimeoutNanos = Deadlines.timeoutNanos(config.idleTimeoutNanos());
        this.lastActivity = System.nanoTime();
    }

    // ------------------------------------------------------------------------------ idle timeout

    /**
     * Poller thread: arms the idle timer for the last stamp plus the timeout, unless one is armed
     * already for no later (a shorter timeout set meanwhile replaces it); without a timeout, drops
     * the armed one.
     */
    final void armIdle() {
        Timeout armed = idleTimer;
        long idle = idleTimeoutNanos;
        if (idle <= 0 || !isActive()) {
            if (armed != null) {
                armed.cancel();
                idleTimer = null;
            }
            return;
        }
        long due = lastActivity + idle;
        if (armed != null) {
            if (armed.deadlineNanos() - due <= 0) {
                return;
            }
            armed.cancel();
        }
        schedule(due);
    }

    private void idleCheck() {
        idleTimer = null;
        long idle = idleTimeoutNanos;
        if (idle <= 0 || !isActive()) {
            return;
        }
        long due = lastActivity + idle;
        if (System.nanoTime() - due >= 0) {
            closeWith(new IdleTimeoutException());
        } else {
            schedule(due);
        }
    }

    /** Poller thread: the idle timer for {@code due}; dropped again if a close came meanwhile (it may not have seen it). */
    private void schedule(long due) {
        Timeout t = poller.schedule(due, this::idleCheck);
        idleTimer = t;
        if (!isActive()) {
            t.cancel();
        }
    }

    /** Any thread, once closed: cancels the idle timer (see {@link #idleTimer}). */
    @Override
    final void disarmIdle() {
        Timeout t = idleTimer;
        if (t != null) {
            t.cancel();
        }
    }

    /** Stamps application-side traffic for the idle timeout (nothing to stamp without one). */
    final void activity() {
        if (idleTimeoutNanos > 0) {
            lastActivity = poller.inEventLoop() ? poller.loopTime() : System.nanoTime();
        }
    }

    // ------------------------------------------------------------------------------ timeouts and deadlines

    /** The absolute read deadline (nanoTime), 0 = none. */
    public final long readDeadlineNanos() {
        return readDeadline;
    }

    /** The absolute write deadline (nanoTime), 0 = none. */
    public final long writeDeadlineNanos() {
        return writeDeadline;
    }

    public final long readTimeoutNanos() {
        return readTimeoutNanos;
    }

    public final long writeTimeoutNanos() {
        return writeTimeoutNanos;
    }

    public final long idleTimeoutNanos() {
        return idleTimeoutNanos;
    }


    @Override
    public final void setReadTimeout(Duration timeout) {
        readTimeoutNanos = Deadlines.timeoutNanos(timeout);
    }

    @Override
    public final void setWriteTimeout(Duration timeout) {
        writeTimeoutNanos = Deadlines.timeoutNanos(timeout);
    }

    @Override
    public final void setIdleTimeout(Duration timeout) {
        // traffic is stamped only while an idle timeout is set: the idle time counts from here
        lastActivity = System.nanoTime();
        idleTimeoutNanos = Deadlines.timeoutNanos(timeout);
        poller.execute(this::armIdle);
    }

    @Override
    public final void setReadDeadline(Instant deadline) {
        setReadDeadlineNanos(Deadlines.at(deadline));
    }

    @Override
    public final void setWriteDeadline(Instant deadline) {
        setWriteDeadlineNanos(Deadlines.at(deadline));
    }

    /** Absolute {@link System#nanoTime()} read deadline, 0 = none; wakes a waiting reader if past. */
    public final void setReadDeadlineNanos(long deadline) {
        Waiter toWake;
        synchronized (readWaitLock) {
            readDeadline = deadline;
            toWake = pd.setDeadlineDeferred(PollDesc.READ, Deadlines.earliest(deadline, readWaitBound));
        }
        wake(toWake);
    }

    /** Wakes a waiter a past deadline took out, outside readWaitLock: a wake-up may run its code. */
    private static void wake(Waiter w) {
        if (w != null) {
            w.wake();
        }
    }

    /** Absolute {@link System#nanoTime()} write deadline, 0 = none; wakes a waiting writer if past. */
    public final void setWriteDeadlineNanos(long deadline) {
        writeDeadline = deadline;
        sender.deadlineChanged();
    }

    /**
     * Makes the caller the one read that waits, bounded by the earlier of the read deadline and now
     * plus the read timeout until {@link #releaseReadWait}; false (nothing changed) if another read
     * waits.
     */
    final boolean claimReadWait() {
        Waiter toWake = null;
        synchronized (readWaitLock) {
            if (readWaiting) {
                return false;
            }
            long bound = Deadlines.after(System.nanoTime(), readTimeoutNanos);
            if (bound != 0) {
                toWake = pd.setDeadlineDeferred(PollDesc.READ, Deadlines.earliest(readDeadline, bound));
            }
            readWaitBound = bound;
            readWaiting = true; // last: nothing above left a claim behind if it threw
        }
        wake(toWake);
        return true;
    }

    /** Ends the wait {@link #claimReadWait} began: the descriptor's deadline is the read deadline again. */
    final void releaseReadWait() {
        Waiter toWake = null;
        synchronized (readWaitLock) {
            if (!readWaiting) {
                throw new IllegalStateException("no read wait to end");
            }
            readWaiting = false;
            if (readWaitBound != 0) {
                readWaitBound = 0;
                toWake = pd.setDeadlineDeferred(PollDesc.READ, readDeadline);
            }
        }
        wake(toWake);
    }
}
