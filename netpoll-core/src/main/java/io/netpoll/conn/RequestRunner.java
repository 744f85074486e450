package io.netpoll.conn;

import io.netpoll.OnConnect;
import io.netpoll.OnRequest;
import io.netpoll.error.ConnectionClosedException;
import io.netpoll.error.LimitExceededException;

/**
 * netpoll's processing rule for callback connections: {@code onConnect} once, then {@code onRequest}
 * while unread input remains, never two runs at once on one connection, and re-checked after each
 * run so input that arrived meanwhile is never stranded. A run that consumes nothing ends the pass
 * (no spinning); the next input starts another.
 *
 * <pre>
 * state   IDLE ──trigger (CAS)──▶ RUNNING ──run ends, nothing new (CAS)──▶ IDLE
 *                                   │  ▲
 *                  trigger (CAS)    ▼  │ runner starts its next pass
 *                                  AGAIN
 * </pre>
 * The state is a {@link PassWord} (this class extends it: one object per connection).
 * {@link #trigger} runs on the poller (new input, EOF) or on the thread that sets a handler; the
 * pass itself runs on the handler executor (or inline on the poller thread). The winner of
 * IDLE→RUNNING dispatches exactly one pass; a trigger during a pass only marks AGAIN, which the pass
 * turns back into RUNNING before looping, so its CAS to IDLE fails and it runs once more.
 *
 * <p>A handler that consumes nothing while the input is at the cap ({@code maxInputBytes}) waits
 * for a message larger than the cap; since reading pauses there, that input would never come, so the
 * connection is closed with {@link LimitExceededException} instead of hanging.
 */
final class RequestRunner extends PassWord {
    private static final System.Logger LOG = System.getLogger("io.netpoll.conn");

    private final NetConnection conn;
    /** A pass on the handler executor. */
    private final Runnable passTask = this::pass;
    /** A pass queued to the poller: run as inside a read round ({@link NetConnection#inRound}). */
    private final Runnable passInRound;
    /** The first pass of an inline connection, queued to the poller by {@link #start}. */
    private final Runnable startInRound;
    private volatile OnRequest handler;
    /** Cleared by the first pass, which runs it. */
    private volatile OnConnect onConnect;
    /**
     * Set once by {@link #start}. Before it a new handler is only stored: a pass then would run before
     * the socket is registered, and beside the rest of onPrepare (which may set the handler). The
     * handler is written before this is read, and this is written before the handler is read, so a
     * handler set while {@code start} runs is seen by one of the two (both may trigger: the claim
     * picks one pass).
     */
    private volatile boolean started;

    RequestRunner(NetConnection conn, OnConnect onConnect, OnRequest handler) {
        this.conn = conn;
        this.passInRound = () -> conn.inRound(passTask);
        this.startInRound = () -> {
            if (claim()) {
                conn.inRound(passTask);
            }
        };
        this.onConnect = onConnect;
        this.handler = handler;
    }

    OnRequest handler() {
        return handler;
    }

    void setHandler(OnRequest h) {
        handler = h;
        if (started) {
            trigger();
        }
    }

    /** Not started yet, or started with an onConnect that no pass has run yet. */
    boolean firstPassPending() {
        return !started || onConnect != null;
    }

    /**
     * After registration (on the accepting or dialing thread): the first pass runs onConnect (if any)
     * and whatever input is there (inline handlers: queued to the poller as a round of its own). Not through
     * {@link #dispatch}: the request path's compiled code then never sees this once-per-connection
     * caller, and each new connection does not send it back to the interpreter.
     */
    void start() {
        started = true;
        if (onConnect == null && handler == null) {
            return;
        }
        if (conn.config.inline()) {
            // claimed on the poller, so it never meets a pass there that is queued but not yet run
            conn.poller.execute(startInRound);
        } else if (claim()) {
            submit();
        }
    }

    /** New input, EOF, or a new handler: make sure a pass sees it. */
    void trigger() {
        if (handler == null && onConnect == null) {
            return;
        }
        forceTrigger();
    }

    private void forceTrigger() {
        if (claim()) {
            dispatch();
        }
    }

    /**
     * EOF: close once no pass is running (the poller's own pass over the last input has run by now
     * when handlers are inline), by {@link #requestFinish}: the flag, then the state; a pass going
     * idle meanwhile sees the flag after its CAS to IDLE, so one of the two closes (both may: closing
     * is idempotent). Kept out of the pass's loop, so that a connection's end leaves the compiled
     * request path alone.
     */
    void closeWhenDrained() {
        if (requestFinish()) {
            conn.sender.closeWhenSent();
        }
    }

    private void dispatch() {
        if (conn.config.inline()) {
            if (conn.poller.inEventLoop()) {
                pass();
            } else {
                conn.poller.execute(passInRound);
            }
            return;
        }
        submit();
    }


    /** Hands a pass to the handler executor. */
    private void submit() {
        try {
            conn.config.executor().execute(passTask);
        } catch (Throwable e) {
            // rejected, or an executor that cannot run anything (no thread for it): no pass will
            // run, so none would ever run again; the connection ends with the executor's error
            failed(e);
        }
    }

    /**
     * The pass (or its dispatch) failed: close the connection first, so that a trigger that finds the
     * word idle afterwards dispatches a pass that finds the connection closed (no handler runs after
     * the failure), then give up the word, then log, where nothing thrown can undo the two.
     */
    private void failed(Throwable e) {
        // a handler interrupted on a connection closed under it (a forced shutdown interrupts the
        // pool threads of the connections it closes) ended as asked: no failure to report
        boolean interruptedByClose = !conn.isActive()
                && (e instanceof InterruptedException || e instanceof java.io.InterruptedIOException
                        && !(e instanceof java.net.SocketTimeoutException));
        try {
            // a read that met this connection's input error (the peer's reset) throws the closed error
            // caused by it: that error is the close's cause (as the close endOfInputError queued says),
            // not a wrapper of it; another connection's error a handler passes on stays wrapped
            Throwable cause = e.getCause();
            conn.closeWith(e instanceof ConnectionClosedException && cause != null && cause == conn.inputError()
                    ? cause : e);
        } finally {
            abandon();
        }
        try {
            if (NetConnection.endedByPeerOrClose(e) || interruptedByClose) {
                LOG.log(System.Logger.Level.DEBUG, () -> "handler met the end of " + conn + ": " + e);
            } else {
                LOG.log(System.Logger.Level.WARNING, "handler failed on " + conn + "; closing it", e);
            }
        } catch (Throwable ignored) {
            // out of memory, or a broken logger: the connection is closed either way
        }
    }

    private void pass() {
        int entered = conn.enterCall(); // free when inline in the poller's read round
        if (entered == NetConnection.NOT_ENTERED) {
            abandon();
            return;
        }
        try {
            boolean finish;
            try {
                finish = rounds();
            } catch (Throwable e) {
                failed(e);
                return;
            }
            if (finish) {
                // the peer sent everything and the handler took what it could: finish the send, close.
                // Past endPass, the word may be a newer pass's: a failure here only closes
                try {
                    conn.sender.closeWhenSent();
                } catch (Throwable e) {
                    conn.closeWith(e);
                }
            }
        } finally {
            conn.leaveCall(entered);
        }
    }

    /** The pass's rounds until {@link #endPass} succeeds; returns whether a finish was requested. */
    private boolean rounds() throws Exception {
        for (;;) {
            beginRound();
            OnConnect c = onConnect;
            if (c != null) {
                onConnect = null;
                c.onConnect(conn);
            }
            OnRequest h = handler;
            if (h != null) {
                long start = conn.input.consumedTotal();
                while (conn.isActive()) {
                    if (conn.input.len() == 0) {
                        break;
                    }
                    // progress is what the handler consumed, not how the length moved: input that
                    // arrives while a handler blocks (in flush, say) may outgrow what it consumed
                    long before = conn.input.consumedTotal();
                    h.onRequest(conn);
                    if (conn.input.consumedTotal() == before) {
                        if (conn.input.len() >= conn.inputCap()) {
                            // reading stops at the cap, so more input will never come: the
                            // handler waits for a message larger than maxInputBytes
                            conn.closeWith(new LimitExceededException("unconsumed input (maxInputBytes)",
                                    conn.inputCap()));
                        }
                        break; // nothing consumed: wait for more input
                    }
                }
                if (conn.input.consumedTotal() != start) {
                    // reading may have paused at the input cap, and only release() and the waits
                    // lift that pause: a handler that consumed without a release after must not
                    // leave it paused with nothing left to trigger another pass
                    conn.consumedInput();
                }
            }
            if (endPass()) {
                return finishRequested();
            }
        }
    }
}
