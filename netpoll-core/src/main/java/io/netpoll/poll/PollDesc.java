package io.netpoll.poll;

import io.netpoll.sys.Linux;
import io.netpoll.timer.Timeout;

import java.io.InterruptedIOException;

/**
 * A file descriptor registered with one {@link Poller}: Go's {@code pollDesc}. It holds the two
 * {@link WaitWord}s ({@link #rg} for reading, {@link #wg} for writing), absolute read and write
 * deadlines, and the {@link Handler} that receives this descriptor's epoll events on the poller
 * thread.
 *
 * <p>Registration is once, edge-triggered, for {@code EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET} (as Go
 * does): steady-state reads and writes never call {@code epoll_ctl}. The epoll data word carries the
 * fd and a registration {@link #tag}; an event whose tag is not the current registration's (an fd
 * closed and reused while the event was in flight) is dropped by the poller.
 *
 * <p>Deadlines are absolute {@link System#nanoTime()} values ({@code 0} = none). Every change,
 * and {@link #close}, bumps a per-direction sequence number, so a timer armed for an older
 * deadline that fires late does nothing. A deadline at or before now wakes the waiter at once.
 * The deadline fields are guarded by this object's monitor; the wait words are lock-free.
 */
public final class PollDesc {
    public static final int READ = 0;
    public static final int WRITE = 1;

    /** {@link #check} results. */
    public static final int OK = 0;
    public static final int ERR_CLOSING = 1;
    public static final int ERR_TIMEOUT = 2;

    private static final long EXPIRED = -1;

    /** Receives this descriptor's events on the poller thread; must not block. */
    public interface Handler {
        /** {@code events} is the raw epoll mask ({@link Linux#EPOLLIN} ...). */
        void onEvents(PollDesc pd, int events);

        /** The poller is closing: release the descriptor (close the fd). Runs on the poller thread. */
        default void onPollerClosed(PollDesc pd) {
        }
    }

    /**
     * The Go behaviour: readiness wakes whoever waits in {@link #rg} / {@link #wg}; the waiter then
     * retries its system call itself. When the poller closes, the descriptor closes: the waiters
     * wake and see {@link #ERR_CLOSING}, and the waiting owner closes the fd. Used by dialing sockets.
     */
    public static final Handler WAKE_WAITERS = new Handler() {
        @Override
        public void onEvents(PollDesc pd, int events) {
            if ((events & (Linux.EPOLLIN | Linux.EPOLLRDHUP | Linux.EPOLLHUP | Linux.EPOLLERR)) != 0) {
                pd.rg.unblockAndWake(true);
            }
            if ((events & (Linux.EPOLLOUT | Linux.EPOLLHUP | Linux.EPOLLERR)) != 0) {
                pd.wg.unblockAndWake(true);
            }
        }

        @Override
        public void onPollerClosed(PollDesc pd) {
            pd.close();
        }
    };

    public final int fd;
    public final Poller poller;
    /** Registration sequence, carried in the epoll data word next to the fd. */
    final int tag;
    public final WaitWord rg = new WaitWord();
    public final WaitWord wg = new WaitWord();
    volatile Handler handler;
    /** false until {@link #close}; then true forever. */
    private volatile boolean closing;

    // guarded by this: deadline (0 none, EXPIRED passed, else absolute nanos), sequence, timer
    private long rd;
    private long wd;
    private int rseq;
    private int wseq;
    private Timeout rt;
    private Timeout wt;
    /** Volatile copies of "deadline passed", read without the lock by {@link #check}. */
    private volatile boolean rExpired;
    private volatile boolean wExpired;

    PollDesc(int fd, Poller poller, int tag, Handler handler) {
        this.fd = fd;
        this.poller = poller;
        this.tag = tag;
        this.handler = handler;
    }

    public void setHandler(Handler handler) {
        this.handler = handler;
    }

    public boolean isClosing() {
        return closing;
    }

    public WaitWord word(int mode) {
        return mode == READ ? rg : wg;
    }

    /** Go's {@code netpollcheckerr}: {@link #ERR_CLOSING}, {@link #ERR_TIMEOUT} or {@link #OK}. */
    public int check(int mode) {
        if (closing) {
            return ERR_CLOSING;
        }
        if (mode == READ ? rExpired : wExpired) {
            return ERR_TIMEOUT;
        }
        return OK;
    }

    /**
     * Go's {@code netpollblock} for the calling thread: returns at once if readiness was latched,
     * otherwise parks until readiness, the deadline or a close. Returns {@code true} if woken by
     * I/O readiness; on {@code false} the caller re-checks {@link #check}. A thread interrupted while
     * parked gets {@link InterruptedIOException}.
     */
    public boolean block(int mode) throws InterruptedIOException {
        WaitWord w = word(mode);
        if (w.prepare()) {
            return true;
        }
        if (check(mode) != OK) {
            return w.finish();
        }
        ThreadWaiter waiter = new ThreadWaiter();
        if (w.commit(waiter)) {
            waiter.await(w);
        }
        return w.finish();
    }

    /**
     * Sets the absolute deadline ({@link System#nanoTime()} based; {@code 0} removes it) for
     * {@code mode}. Safe from any thread at any time, also while a waiter is parked: a past deadline
     * wakes it now, a future one arms a timer on this descriptor's poller and cancels the old one.
     */
    public void setDeadline(int mode, long deadlineNanos) {
        Waiter toWake = setDeadlineDeferred(mode, deadlineNanos);
        if (toWake != null) {
            toWake.wake();
        }
    }

    /**
     * {@link #setDeadline}, except that the waiter a past deadline takes out of its word is returned
     * (or {@code null}) rather than woken: the caller wakes it once it holds no lock of its own, as
     * a wake-up may run the waiter's code (a coroutine resumed in place).
     */
    public Waiter setDeadlineDeferred(int mode, long deadlineNanos) {
        Waiter toWake = null;
        synchronized (this) {
            if (closing) {
                return null;
            }
            Timeout old = mode == READ ? rt : wt;
            if (old != null) {
                old.cancel();
            }
            int seq = mode == READ ? ++rseq : ++wseq;
            long d;
            Timeout timer = null;
            if (deadlineNanos == 0) {
                d = 0;
            } else if (deadlineNanos - System.nanoTime() <= 0) {
                d = EXPIRED;
            } else {
                d = deadlineNanos;
                timer = poller.schedule(deadlineNanos, () -> deadlineFired(mode, seq));
            }
            if (mode == READ) {
                rd = d;
                rt = timer;
                rExpired = d == EXPIRED;
            } else {
                wd = d;
                wt = timer;
                wExpired = d == EXPIRED;
            }
            if (d == EXPIRED) {
                toWake = word(mode).unblock(false);
            }
        }
        return toWake;
    }

    /** The deadline for {@code mode}: 0 none, -1 passed, else absolute nanos. */
    public synchronized long deadline(int mode) {
        return mode == READ ? rd : wd;
    }

    private void deadlineFired(int mode, int seq) {
        Waiter toWake;
        synchronized (this) {
            if (closing || seq != (mode == READ ? rseq : wseq)) {
                return; // stale: the deadline changed or the descriptor closed since this timer was armed
            }
            if (mode == READ) {
                rd = EXPIRED;
                rt = null;
                rExpired = true;
            } else {
                wd = EXPIRED;
                wt = null;
                wExpired = true;
            }
            toWake = word(mode).unblock(false);
        }
        if (toWake != null) {
            toWake.wake();
        }
    }

    /**
     * Marks the descriptor closing (forever), cancels both deadlines, takes both waiters out and
     * wakes them (they see {@link #ERR_CLOSING}), and unregisters it from the poller so no further
     * event reaches the handler. Does not close the fd: its owner does that once no call uses it.
     * Idempotent; safe from any thread.
     */
    public void close() {
        synchronized (this) {
            if (closing) {
                return;
            }
            closing = true;
            rseq++;
            wseq++;
            if (rt != null) {
                rt.cancel();
                rt = null;
            }
            if (wt != null) {
                wt.cancel();
                wt = null;
            }
        }
        poller.unregister(this);
        rg.unblockAndWake(false);
        wg.unblockAndWake(false);
    }

    @Override
    public String toString() {
        return "PollDesc[fd=" + fd + " tag=" + tag + " rg=" + rg + " wg=" + wg + (closing ? " closing" : "") + "]";
    }
}
