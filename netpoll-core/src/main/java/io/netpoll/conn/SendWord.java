package io.netpoll.conn;

import io.netpoll.error.ConcurrentAccessException;
import io.netpoll.poll.WaitWord;
import io.netpoll.poll.Waiter;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Who moves a connection's output to the socket, as one state word: the flushing thread while the
 * socket takes it, the poller once the socket is full (netpoll's rule: the caller writes; only what
 * does not fit is finished by the poller).
 *
 * <pre>
 * state  IDLE ──flush (CAS)──▶ CALLER ──all written──▶ IDLE
 *         ▲                      │ socket full: park the poller's send task in wg
 *         │                      ▼
 *         └──all written ──── POLLER ◀── (re-taken by CAS when bytes were published meanwhile)
 * </pre>
 *
 * <p>The root of {@link Sender}, which supplies the socket, the queue and the connection through the
 * abstract methods; its own class so that the protocol can be model-checked without a socket (the
 * Lincheck test in {@code io.netpoll.conn} subclasses it with a model socket). Nothing outside this
 * package can extend it.
 */
public abstract class SendWord {
    private static final VarHandle STATE;
    private static final VarHandle WHEN_SENT;
    private static final VarHandle SETTLED;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(SendWord.class, "state", int.class);
            WHEN_SENT = MethodHandles.lookup().findVarHandle(SendWord.class, "whenSent", int.class);
            SETTLED = MethodHandles.lookup().findVarHandle(SendWord.class, "settled", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /*
     * state:
     *   IDLE → CALLER     send(): a flushing thread (CAS); a flush that finds CALLER is a
     *                     second concurrent flush and throws ConcurrentAccessException
     *   CALLER → IDLE     that thread, when the queue is empty, when a write fails (or throws
     *                     anything else), or when the connection closed before it could hand off
     *                     (also when the close came after its hold and before its park: it looks
     *                     at closing after prepare, as Go's netpollblock does after pdWait)
     *   CALLER → POLLER   that thread, when the socket is full: then it parks the send task in wg
     *                     with Go's prepare/commit
     *   POLLER → CALLER   that thread again, when the commit failed (readiness came meanwhile): it
     *                     keeps writing
     *   POLLER → IDLE     the send task, when the queue is empty, a write failed or the connection
     *                     is closing (seen at its wake-up, or after its prepare to park again)
     *   IDLE → POLLER     the send task right after, by CAS, when a flush published bytes meanwhile
     * A flush that finds POLLER leaves its bytes to the send task. Any other value is impossible and
     * throws.
     * whenSent: bits, each 0 → 1 once: CLOSE_WHEN_SENT by closeWhenSent(), SHUT_WHEN_SENT by
     * shutdownWhenSent() (an atomic or), which then look at the state; whoever moves the word to IDLE
     * with the queue empty, or after a failed write (nothing will be sent any more), looks at the
     * bits after the move (sent(), which acts only if the word is still IDLE with nothing queued,
     * else the owner that took it goes IDLE later and looks again), so at least one of them acts
     * (both may: closing and shutting down are idempotent). Never cleared.
     * settled: a count, +1 by the flushing thread that owns the send (CALLER) each time one of its
     * writeOut calls (each writes until the queue is empty or the socket full) returns or throws,
     * after its outcome is stored (a failed write's sendError), before the word leaves CALLER; only
     * the owner writes it (ownership passes by CAS on state). The poller reads it with the state
     * (ConnReadSide.writerUnsettled: a 0 read while a flushing thread writes is decided once that
     * write settled, as it may have taken the peer's reset). Wraps; compared for equality only.
     */
    static final int IDLE = 0;
    static final int CALLER = 1;
    static final int POLLER = 2;

    /** {@link #writeOut}: the queue is empty. */
    static final int DONE = 0;
    /** {@link #writeOut}: the socket is full and bytes are still queued. */
    static final int FULL = 1;

    private final PollerSend task = new PollerSend();
    @SuppressWarnings("unused") private volatile int state;
    @SuppressWarnings("unused") private volatile int whenSent;
    @SuppressWarnings("unused") private volatile int settled;
    private static final int CLOSE_WHEN_SENT = 1;
    private static final int SHUT_WHEN_SENT = 2;

    SendWord() {
    }

    /** Makes the bytes written since the last flush part of the queue. */
    abstract void publish();

    /** At most the write-queue limit is queued. */
    abstract boolean withinLimit();

    /** A flush on the poller thread over the limit: stop reading until the queue drains. */
    abstract void pauseReading();

    /**
     * Writes queued bytes until the queue is empty ({@link #DONE}) or the socket is full
     * ({@link #FULL}); a failed write empties the queue and throws.
     */
    abstract int writeOut(boolean onPoller) throws IOException;

    /** Bytes queued and not yet written. */
    abstract long queued();

    /**
     * A write failed: nothing will be sent any more (true from before the failing
     * {@link #writeOut} throws, for good).
     */
    abstract boolean outputFailed();

    /** The word the send task parks in while the socket is full (the poll descriptor's {@code wg}). */
    abstract WaitWord wg();

    /** Keeps the connection from being destroyed while the send task is parked; false once closed. */
    abstract boolean hold();

    /** Ends a {@link #hold()}. */
    abstract void unhold();

    /** The connection is not closed. */
    abstract boolean active();

    /** The poll descriptor is closing: a wake-up of the send task is the close's, not the socket's. */
    abstract boolean closing();

    /** True on the thread that must run the send task (the connection's poller). */
    abstract boolean onPollerThread();

    /** Runs {@code task} on the connection's poller thread. */
    abstract void runOnPoller(Runnable task);

    /**
     * The send task wrote bytes: wake flushes waiting for room, always when the queue is empty
     * ({@code done}), otherwise if it is short enough.
     */
    abstract void progressed(boolean done);

    /**
     * The send task's write failed (the queue is discarded, the output over): wake flushes waiting
     * for room, so that they meet the error, and reading paused on the queue.
     */
    abstract void sendFailed();

    /** Closes the connection (after {@link #closeWhenSent()}, once everything is written or a write failed). */
    abstract void closeNow();

    /**
     * Shuts down the socket's sending side (after {@link #shutdownWhenSent()}, once everything is
     * written); a socket reset meanwhile is no error (its output is over anyway).
     */
    abstract void shutdownNow();

    /**
     * Publishes the output and sends what the socket takes. Call inside
     * {@link NetConnection#enter()}. Returns {@code true} when the flush is complete (this thread
     * wrote everything, or at most the write-queue limit is still queued for the send task, or
     * {@code canWait} is false and the connection stops reading until the queue drains), {@code false}
     * when the caller must wait for room and call again. Never waits itself, so no deadline or
     * timeout applies here (they bound the caller's wait for room). A write error ends the output:
     * it is thrown, here and by every later send, and the queue is discarded ({@link Sender}). On a
     * connection closed meanwhile, queued bytes die with it: the write fails with
     * the connection's closed error ({@link io.netpoll.error.ConnectionClosedException} after a local
     * close), or, with nothing queued, it returns {@code true}.
     *
     * @throws ConcurrentAccessException if another thread is flushing the connection at the same time
     */
    public final boolean send(boolean canWait) throws IOException {
        publish();
        // publish() is a release store (a LinkBuffer flush): order it before the state read below,
        // which the send task stores before it reads the queue's length (a Dekker handshake)
        VarHandle.fullFence();
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
            if (s != POLLER) {
                throw new IllegalStateException("send word in unknown state " + s);
            }
            if (withinLimit()) {
                return true;
            }
            if (!canWait) {
                pauseReading();
                return true;
            }
            return false;
        }
    }

    /** True while the send task owns the send. */
    final boolean ownedByPoller() {
        return (int) STATE.getVolatile(this) == POLLER;
    }

    /** True while a flushing thread owns the send: it may be between a write's system call and its outcome. */
    final boolean callerOwns() {
        return (int) STATE.getVolatile(this) == CALLER;
    }

    /** The count of the flushing threads' settled writes (see the field); read it before {@link #callerOwns}. */
    final int callerSettled() {
        return (int) SETTLED.getVolatile(this);
    }

    /** CALLER: one of this thread's writes settled (its outcome stored). A release store: one writer. */
    private void settle() {
        SETTLED.setRelease(this, (int) SETTLED.get(this) + 1);
    }

    /** True while nobody is sending. */
    final boolean sendIdle() {
        return (int) STATE.getVolatile(this) == IDLE;
    }

    /** Close the connection once the queue is empty (at once if it is). */
    final void closeWhenSent() {
        whenSent(CLOSE_WHEN_SENT);
    }

    /**
     * Shut down the sending side once the queue is empty (at once if it is), so that bytes a flush
     * left queued (on the poller thread, or within the write-queue limit) still go out first. Bytes
     * flushed after this call and before that moment go out too.
     */
    final void shutdownWhenSent() {
        whenSent(SHUT_WHEN_SENT);
    }

    private void whenSent(int action) {
        WHEN_SENT.getAndBitwiseOr(this, action); // then look at the state; whoever goes IDLE looks after
        sent();
    }

    /**
     * After a move to IDLE with the queue empty, or after a failed write, and after an action is
     * asked for: does what was asked for if everything is sent (a shutdown only while there is an
     * output left to end). The actions first, then the state: a flush may have taken the word since
     * the move (and handed bytes to a new send task); then its owner goes IDLE later and does this.
     */
    private void sent() {
        int w = whenSent;
        if ((int) STATE.getVolatile(this) != IDLE || queued() != 0 && !outputFailed()) {
            return;
        }
        if ((w & SHUT_WHEN_SENT) != 0 && active() && !outputFailed()) {
            shutdownNow();
        }
        if ((w & CLOSE_WHEN_SENT) != 0) {
            closeNow();
        }
    }

    /** CALLER: writes; true when everything went out, false when the send task took over the rest. */
    private boolean writeAsCaller() throws IOException {
        for (;;) {
            int r;
            try {
                r = writeOut(false);
            } catch (Throwable e) { // an IOException, or a bug: either way this thread lets go
                settle();
                STATE.setVolatile(this, IDLE);
                if (whenSent != 0) {
                    sent(); // after a failed write nothing more will be sent
                }
                throw e;
            }
            settle();
            if (r == DONE) {
                STATE.setVolatile(this, IDLE);
                if (whenSent != 0) {
                    sent();
                }
                return true;
            }
            if (handOff()) {
                return false;
            }
        }
    }

    /** The descriptor is closing: the wait in wg is over, and what is queued dies with the connection. */
    private void letGoClosing() {
        wg().finish();
        STATE.setVolatile(this, IDLE);
    }

    /** CALLER: parks the send task; false if the socket became writable again (keep going). */
    private boolean handOff() {
        if (!hold()) {
            STATE.setVolatile(this, IDLE); // closed: the queue dies with the connection
            return true;
        }
        WaitWord wg = wg();
        if (wg.prepare()) {
            unhold();
            return false;
        }
        if (closing()) { // closed since hold(): its wake-up found no waiter (Go's check after pdWait)
            letGoClosing();
            unhold();
            return true;
        }
        STATE.setVolatile(this, POLLER);
        if (wg.commit(task)) {
            return true; // the task keeps the hold until it is done
        }
        wg.finish();
        STATE.setVolatile(this, CALLER);
        unhold();
        return false;
    }

    /**
     * The send task, parked in {@link #wg()} while the socket is full; woken by writability on the
     * poller thread, or by close on any thread.
     */
    private final class PollerSend implements Waiter {
        @Override
        public void wake() {
            if (closing()) {
                letGoClosing();
                unhold();
            } else if (onPollerThread()) {
                run();
            } else {
                runOnPoller(this::run);
            }
        }

        private void run() {
            WaitWord wg = wg();
            wg.finish();
            boolean parked = false;
            try {
                for (;;) {
                    if (!active()) {
                        STATE.setVolatile(SendWord.this, IDLE);
                        return;
                    }
                    int r = writeOut(true);
                    if (r == DONE) {
                        STATE.setVolatile(SendWord.this, IDLE);
                        if (queued() > 0 && STATE.compareAndSet(SendWord.this, IDLE, POLLER)) {
                            continue; // a flush published bytes while we owned the send
                        }
                        progressed(true);
                        if (whenSent != 0) {
                            sent();
                        }
                        return;
                    }
                    progressed(false); // may resume a flush in place, whose coroutine may close
                    if (wg.prepare()) {
                        continue;
                    }
                    if (closing()) { // its wake-up found no waiter: parking now would be for ever
                        letGoClosing();
                        return;
                    }
                    if (wg.commit(this)) {
                        parked = true;
                        return;
                    }
                    wg.finish();
                }
            } catch (IOException e) {
                STATE.setVolatile(SendWord.this, IDLE);
                sendFailed();
                if (whenSent != 0) {
                    sent(); // after a failed write nothing more will be sent
                }
            } finally {
                if (!parked) {
                    unhold();
                }
            }
        }
    }
}
