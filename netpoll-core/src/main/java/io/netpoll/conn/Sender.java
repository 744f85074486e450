package io.netpoll.conn;

import io.netpoll.error.ConcurrentAccessException;
import io.netpoll.error.WriteTimeoutException;
import io.netpoll.poll.Poller;
import io.netpoll.poll.ThreadWaiter;
import io.netpoll.poll.WaitWord;
import io.netpoll.poll.Waiter;
import io.netpoll.sys.Errno;
import io.netpoll.sys.LibC;
import io.netpoll.sys.NativeBuffer;
import io.netpoll.sys.Sys;
import io.netpoll.timer.Timeout;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Moves a connection's output to the socket: on the flushing thread while the socket takes it, and
 * on the poller once the socket is full (netpoll's rule: the caller writes; only what does not fit
 * is finished by the poller).
 *
 * <pre>
 * state  IDLE ──flush (CAS)──▶ CALLER ──all written──▶ IDLE
 *         ▲                      │ socket full: park the poller's send task in pd.wg
 *         │                      ▼
 *         └──all written ──── POLLER ◀── (re-taken by CAS when bytes were published meanwhile)
 * </pre>
 * <ul>
 *   <li>IDLE→CALLER: a flushing thread (CAS). A flush that finds CALLER is a second concurrent flush:
 *       {@link ConcurrentAccessException}.</li>
 *   <li>CALLER→POLLER: that thread, when writev stops short; it then parks {@link PollerSend} in
 *       {@code pd.wg} with Go's prepare/commit (readiness latched meanwhile means: keep writing, POLLER→CALLER).</li>
 *   <li>POLLER→IDLE: the poller's send task, when everything is written; it then re-reads the queue and
 *       takes any bytes a flush published meanwhile (IDLE→POLLER by CAS), so nothing is stranded.</li>
 * </ul>
 * A flush that finds POLLER leaves its bytes to the poller and returns once at most the write-queue
 * limit is still queued; until then a thread waits in {@link #room} (woken by the send task's
 * progress, the write deadline, or close). On a poller thread it never waits: the connection stops
 * reading instead, until the queue drains.
 */
public final class Sender {
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Sender.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final int IDLE = 0;
    static final int CALLER = 1;
    static final int POLLER = 2;

    private static final int DONE = 0;
    private static final int FULL = 1;
    private static final int APP_IOVS = 64;
    private static final ThreadLocal<NativeBuffer> APP_IOV = ThreadLocal.withInitial(() -> new NativeBuffer(APP_IOVS * 16));

    private final NetConnection conn;
    private final LibC libc = Sys.libc();
    private final PollerSend task = new PollerSend();
    /** Where flushing threads wait for the queue to shrink: READY means "progress or done". */
    public final WaitWord room = new WaitWord();
    @SuppressWarnings("unused") private volatile int state;
    private volatile boolean closeWhenSent;

    Sender(NetConnection conn) {
        this.conn = conn;
    }

    /**
     * Publishes the output and sends what the socket takes. Call inside
     * {@link NetConnection#enter()}. Returns {@code true} when the flush is complete (at most the
     * write-queue limit is still queued for the poller), {@code false} when the caller must wait for
     * {@link #room} (see {@link #mustWait()}) and call again. Never waits itself. Write errors close
     * the connection and are thrown.
     */
    public boolean send(boolean canWait) throws IOException {
        conn.output.seal();
        for (;;) {
            int s = (int) STATE.getVolatile(this);
            if (s == IDLE) {
                if (STATE.compareAndSet(this, IDLE, CALLER) && writeAsCaller()) {
                    return true;
                }
                continue;
            }
            if (s == CALLER) {
                throw new ConcurrentAccessException();
            }
            if (conn.output.len() <= conn.config.writeQueueLimit()) {
                return true;
            }
            if (!canWait) {
                conn.pause(NetConnection.PAUSE_OUTPUT_FULL);
                return true;
            }
            return false;
        }
    }

    /** True while the poller owns a queue longer than the limit: a flushing thread must wait. */
    public boolean mustWait() {
        return (int) STATE.getVolatile(this) == POLLER && conn.output.len() > conn.config.writeQueueLimit();
    }

    /** CALLER: writes; true when everything went out, false when the poller took over the rest. */
    private boolean writeAsCaller() throws IOException {
        Poller here = Poller.current();
        NativeBuffer iov = here != null ? here.iovScratch() : APP_IOV.get();
        for (;;) {
            int r;
            try {
                r = writeOut(iov);
            } catch (IOException e) {
                STATE.setVolatile(this, IDLE);
                throw e;
            }
            if (r == DONE) {
                STATE.setVolatile(this, IDLE);
                if (closeWhenSent) {
                    conn.close();
                }
                return true;
            }
            if (handOff()) {
                return false;
            }
        }
    }

    /** CALLER: park the poller's send task; false if the socket became writable again (keep going). */
    private boolean handOff() {
        if (!conn.enter()) {
            STATE.setVolatile(this, IDLE); // closed: the queue dies with the connection
            return true;
        }
        WaitWord wg = conn.pd.wg;
        if (wg.prepare()) {
            conn.leave();
            return false;
        }
        STATE.setVolatile(this, POLLER);
        if (wg.commit(task)) {
            return true; // the task keeps the entry until it is done
        }
        wg.finish();
        STATE.setVolatile(this, CALLER);
        conn.leave();
        return false;
    }

    /** Writes until the queue is empty (DONE) or the socket is full (FULL). */
    private int writeOut(NativeBuffer iov) throws IOException {
        int maxIov = iov.size() / 16;
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
                return FULL;
            } else {
                if (!conn.isActive()) {
                    throw conn.closedError(); // closed meanwhile: its shutdown(2) failed this write
                }
                IOException e = Errno.exception("write", (int) -n);
                conn.closeWith(e);
                throw e;
            }
        }
    }

    /**
     * The poller's send task, parked in {@code pd.wg} while the socket is full; woken by EPOLLOUT on
     * the poller thread, or by close on any thread.
     */
    private final class PollerSend implements Waiter {
        @Override
        public void wake() {
            if (conn.pd.isClosing()) {
                conn.pd.wg.finish();
                STATE.setVolatile(Sender.this, IDLE);
                conn.leave();
            } else if (conn.poller.inEventLoop()) {
                run();
            } else {
                conn.poller.execute(this::run);
            }
        }

        private void run() {
            WaitWord wg = conn.pd.wg;
            wg.finish();
            boolean parked = false;
            try {
                for (;;) {
                    if (!conn.isActive()) {
                        STATE.setVolatile(Sender.this, IDLE);
                        return;
                    }
                    int r = writeOut(conn.poller.iovScratch());
                    if (r == DONE) {
                        STATE.setVolatile(Sender.this, IDLE);
                        if (conn.output.len() > 0 && STATE.compareAndSet(Sender.this, IDLE, POLLER)) {
                            continue; // a flush published bytes while we owned the send
                        }
                        progress();
                        if (closeWhenSent) {
                            conn.close();
                        }
                        return;
                    }
                    if (conn.output.len() <= conn.config.writeQueueLimit()) {
                        progress();
                    }
                    if (wg.prepare()) {
                        continue;
                    }
                    if (wg.commit(this)) {
                        parked = true;
                        return;
                    }
                    wg.finish();
                }
            } catch (IOException e) {
                STATE.setVolatile(Sender.this, IDLE);
                room.unblockAndWake(false);
            } finally {
                if (!parked) {
                    conn.leave();
                }
            }
        }

        private void progress() {
            room.unblockAndWake(true);
            if ((conn.pauseBits & NetConnection.PAUSE_OUTPUT_FULL) != 0) {
                conn.resume(NetConnection.PAUSE_OUTPUT_FULL);
            }
        }
    }

    /**
     * Blocks the calling (non-poller) thread until {@link #mustWait()} is false, the write deadline
     * or timeout passes ({@link WriteTimeoutException}; the queue stays queued), or the connection
     * closes. A deadline set while it waits bounds this wait too. Call inside {@link NetConnection#enter()}.
     */
    public void awaitRoom() throws IOException {
        long timeout = conn.writeTimeoutNanos();
        long relative = timeout > 0 ? (System.nanoTime() + timeout) | 1 : 0; // 0 means none
        long absolute = conn.writeDeadlineNanos();
        long deadline = earliest(absolute, relative);
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
                    deadline = earliest(absolute, relative);
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
                if (!mustWait() || !conn.isActive() || conn.writeDeadlineNanos() != absolute) {
                    room.finish(); // changed before we could park: its wake-up latched nothing
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

    /** The earlier of two nanoTime deadlines, 0 meaning none. */
    private static long earliest(long a, long b) {
        return a == 0 ? b : b == 0 || a - b < 0 ? a : b;
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

    /** Close the connection once the queue is empty (at once if it is). */
    void closeWhenSent() {
        closeWhenSent = true;
        if ((int) STATE.getVolatile(this) == IDLE && conn.output.len() == 0) {
            conn.close();
        }
    }

    /** True when nothing is queued or being sent. */
    public boolean idle() {
        return (int) STATE.getVolatile(this) == IDLE && conn.queuedOutput() == 0;
    }
}
