package io.netpoll.conn;

import io.netpoll.error.ConcurrentAccessException;
import io.netpoll.error.SyscallException;
import io.netpoll.error.WriteTimeoutException;
import io.netpoll.poll.Poller;
import io.netpoll.poll.ThreadWaiter;
import io.netpoll.poll.WaitWord;
import io.netpoll.sys.Errno;
import io.netpoll.sys.LibC;
import io.netpoll.sys.Linux;
import io.netpoll.sys.NativeBuffer;
import io.netpoll.sys.Sockets;
import io.netpoll.sys.Sys;
import io.netpoll.timer.Deadlines;
import io.netpoll.timer.Timeout;

import java.io.IOException;

/**
 * Moves a connection's output to the socket, by the protocol of {@link SendWord}: on the flushing
 * thread while the socket takes it, and on the poller once the socket is full. This class supplies
 * the socket (write(2) / writev(2) from the output buffer), the connection, and the waiting for room.
 *
 * <p>A flush that finds the poller sending leaves its bytes to it and returns once at most the
 * write-queue limit is still queued; until then a thread waits in {@link #room} (woken by the send
 * task's progress, the write deadline, or close). On a poller thread it never waits: the connection
 * stops reading instead, until the queue drains.
 *
 * <p>A write that fails (the peer reset the connection, or the socket was shut down) ends the output
 * for good, but not the input: what is queued is discarded, the flush that met the failure and every
 * later one throw the write's error ({@link io.netpoll.error.ConnectionResetException} for a reset),
 * and the connection closes at once only when no input is left to read
 * ({@link ConnReadSide#writeFailed}). So bytes the peer sent before it went away are not lost to a
 * write that raced with them.
 */
public final class Sender extends SendWord {
    private static final int APP_IOVS = 64;
    private static final ThreadLocal<NativeBuffer> APP_IOV = ThreadLocal.withInitial(() -> new NativeBuffer(APP_IOVS * 16));

    private final NetConnection conn;
    private final LibC libc = Sys.libc();
    /** Where flushing threads wait for the queue to shrink: READY means "progress or done". */
    public final WaitWord room = new WaitWord();
    /*
     * sendError: null → the first failed write's error, once, by whoever wrote (the flushing thread
     * or the send task, which own the send while they write); never cleared. A flushing thread's
     * write settles (SendWord.settled) after it, and the thread lets go of the send after that: the
     * poller relies on it when it reads 0 while a flushing thread owns the send
     * (ConnReadSide.writerUnsettled). Once set, writeOut discards what is queued and throws a new
     * exception of the same errno on every call.
     */
    private volatile SyscallException sendError;

    Sender(NetConnection conn) {
        this.conn = conn;
    }

    /** True while the poller owns a queue longer than the limit: a flushing thread must wait. */
    public boolean mustWait() {
        return ownedByPoller() && !withinLimit();
    }

    @Override
    void publish() {
        conn.output.seal(); // a release store: SendWord.send fences after it (see NodeChain.written)
    }

    @Override
    boolean withinLimit() {
        return conn.output.len() <= conn.config.writeQueueLimit();
    }

    @Override
    void pauseReading() {
        if (conn.poller.inEventLoop()) {
            conn.pause(NetConnection.PAUSE_OUTPUT_FULL);
        } else {
            // another poller's thread (an inline handler there flushing this connection): the pause
            // bits are this poller's, and so is queueShrank, which lifts the pause; decide there, so
            // that the pause cannot land after the lift (and reading stop for good)
            // only while the send task is parked: then a queueShrank on this poller follows for
            // sure. POLLER alone may be a flushing thread's moment in handOff before a commit that
            // fails, after which it writes the rest itself and lifts nothing (its send() posts
            // again if its commit succeeds)
            conn.poller.execute(() -> {
                if (mustWait() && wg().hasParkedWaiter()) {
                    conn.pause(NetConnection.PAUSE_OUTPUT_FULL);
                }
            });
        }
    }

    @Override
    int writeOut(boolean onPoller) throws IOException {
        NativeBuffer iov;
        if (onPoller) {
            iov = conn.poller.iovScratch();
        } else {
            Poller here = Poller.current();
            iov = here != null ? here.iovScratch() : APP_IOV.get();
        }
        int maxIov = iov.size() / 16;
        SyscallException failed = sendError;
        if (failed != null) {
            discardQueued();
            throw Errno.exception("write", failed.errno()); // the output ended at the first failure
        }
        for (;;) {
            int count = conn.output.fillIov(iov.buffer(), maxIov, Long.MAX_VALUE);
            if (count == 0) {
                conn.output.release();
                return DONE;
            }
            long want = conn.output.iovBytes();
            // one buffer (the usual case): write(2), which spares the kernel importing an iovec array
            long n = count == 1 ? libc.write(conn.fd, iov.getLong(0), want) : libc.writev(conn.fd, iov.address(), count);
            if (n > 0) {
                conn.output.skip((int) n);
                conn.output.release();
                conn.activity();
                if (n < want) {
                    return FULL;
                }
            } else if (n == -Errno.EAGAIN || n == 0) {
                if (!conn.isActive()) {
                    // closed meanwhile, before its shutdown(2): a flushing thread would otherwise go
                    // round handOff (which refuses to park on a closed connection) until that comes
                    throw conn.closedError();
                }
                return FULL;
            } else {
                if (!conn.isActive()) {
                    throw conn.closedError(); // closed meanwhile: its shutdown(2) failed this write
                }
                SyscallException e = Errno.exception("write", (int) -n);
                sendError = e;
                discardQueued(); // it can never be sent
                conn.writeFailed(e);
                throw e;
            }
        }
    }

    /** Output side (the sender is the output's reader): drops what is queued. */
    private void discardQueued() throws IOException {
        conn.output.skip(conn.output.len());
        conn.output.release();
    }

    @Override
    long queued() {
        return conn.output.len();
    }

    @Override
    boolean outputFailed() {
        return sendError != null;
    }

    /**
     * The failed write's error when it took the socket's reset (ECONNRESET), else null. Linux hands
     * a pending reset to the first call that asks, so after such a write the socket's reads return
     * the bytes left, then 0, as at a FIN: the poller reads that end as this reset instead.
     */
    SyscallException resetTaken() {
        SyscallException e = sendError;
        return e != null && e.errno() == Errno.ECONNRESET ? e : null;
    }

    @Override
    WaitWord wg() {
        return conn.pd.wg;
    }

    @Override
    boolean hold() {
        return conn.enter();
    }

    @Override
    void unhold() {
        conn.leave();
    }

    @Override
    boolean active() {
        return conn.isActive();
    }

    @Override
    boolean closing() {
        return conn.pd.isClosing();
    }

    @Override
    boolean onPollerThread() {
        return conn.poller.inEventLoop();
    }

    @Override
    void runOnPoller(Runnable task) {
        conn.poller.execute(task);
    }

    @Override
    void progressed(boolean done) {
        if (done || withinLimit()) {
            queueShrank(true);
        }
    }

    @Override
    void sendFailed() {
        queueShrank(false); // a waiting flush sends again and meets the error; reading reads what came before it
    }

    /**
     * Poller thread: the queue drained enough ({@code ready}) or died with a failed write: wakes the
     * flushes waiting for room and resumes reading paused on the queue.
     */
    private void queueShrank(boolean ready) {
        room.unblockAndWake(ready);
        if ((conn.pauseBits & NetConnection.PAUSE_OUTPUT_FULL) != 0) {
            conn.resume(NetConnection.PAUSE_OUTPUT_FULL);
        }
    }

    @Override
    void shutdownNow() {
        try {
            Sockets.shutdown(conn.fd, Linux.SHUT_WR); // returns on ENOTCONN (reset meanwhile)
        } catch (SyscallException e) {
            // the fd is held open while this runs, so EBADF, ENOTSOCK or EINVAL is a bug
            throw new IllegalStateException("shutdown(" + conn.fd + ", SHUT_WR): " + e.getMessage(), e);
        }
    }

    @Override
    void closeNow() {
        // null: a normal close; else the reset that ended the input, or else the failed write
        IOException ended = conn.inputError();
        conn.closeWith(ended != null ? ended : sendError);
    }

    /**
     * Blocks the calling (non-poller) thread until {@link #mustWait()} is false, the write deadline
     * or timeout passes ({@link WriteTimeoutException}; the queue stays queued), or the connection
     * closes. A deadline set while it waits bounds this wait too. Call inside {@link NetConnection#enter()}.
     */
    public void awaitRoom() throws IOException {
        long relative = Deadlines.after(System.nanoTime(), conn.writeTimeoutNanos()); // 0 means none
        long absolute = conn.writeDeadlineNanos();
        long deadline = Deadlines.earliest(absolute, relative);
        Timeout timer = armTimer(deadline);
        try {
            for (;;) {
                if (!conn.isActive()) {
                    throw conn.closedError();
                }
                if (!mustWait()) {
                    return;
                }
                long a = conn.writeDeadlineNanos();
                if (a != absolute) {
                    // setWriteDeadline moved it while this flush waited: the new one bounds this wait too
                    absolute = a;
                    deadline = Deadlines.earliest(absolute, relative);
                    if (timer != null) {
                        timer.cancel();
                    }
                    timer = armTimer(deadline);
                }
                if (deadline != 0 && System.nanoTime() - deadline >= 0) {
                    throw new WriteTimeoutException();
                }
                boolean ready;
                try {
                    ready = room.prepare();
                } catch (IllegalStateException e) {
                    throw new ConcurrentAccessException();
                }
                if (ready) {
                    continue;
                }
                if (!mustWait() || !conn.isActive() || conn.writeDeadlineNanos() != absolute
                        || deadline != 0 && System.nanoTime() - deadline >= 0) {
                    // changed before we could park, or the timer fired before WAIT: its wake-up latched nothing
                    room.finish();
                    continue;
                }
                ThreadWaiter w = new ThreadWaiter();
                if (room.commit(w)) {
                    w.await(room);
                }
                room.finish();
            }
        } finally {
            if (timer != null) {
                timer.cancel();
            }
        }
    }

    private Timeout armTimer(long deadline) {
        return deadline != 0 ? conn.poller.schedule(deadline, () -> room.unblockAndWake(false)) : null;
    }

    /** The write deadline moved: wake a waiting flush so it re-reads it. */
    void deadlineChanged() {
        room.unblockAndWake(false);
    }

    /** The connection closed: wake a waiting flush. */
    void closed() {
        room.unblockAndWake(false);
    }

    /**
     * True when nothing is queued or being sent, or when a write failed (nothing will be sent any
     * more: a flush that raced the failure may have left bytes queued until the next flush or close
     * discards them).
     */
    public boolean idle() {
        return (sendIdle() && conn.queuedOutput() == 0) || sendError != null;
    }
}
