package io.netpoll.conn;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * netpoll's rule for work that many threads trigger and one pass at a time does: never two passes
 * at once, and no trigger left unseen. {@link RequestRunner} (a connection's {@code onRequest}) and
 * {@link io.netpoll.ShardQueue} (a multiplexed connection's writes) run their passes by it.
 *
 * <pre>{@code
 * // any thread, after making work visible:
 * if (word.claim()) dispatch(pass);
 * // the pass:
 * do { word.beginRound(); doAllVisibleWork(); } while (!word.endPass());
 * }</pre>
 *
 * <p>Optionally, "finish once drained" ({@link #requestFinish}, {@link #finishRequested}): the
 * requester sets a flag, then looks at the state; a pass that went idle looks at the flag after its
 * CAS. So at least one of the two sees the other and finishes (both may: finishing must be
 * idempotent).
 */
public class PassWord {
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(PassWord.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /*
     * state:
     *   IDLE → RUNNING     claim(): a trigger (CAS); the winner runs or dispatches exactly one pass
     *   RUNNING → AGAIN    claim() during a pass (CAS): the pass runs one more round
     *   AGAIN → RUNNING    beginRound(): the pass, before each round (a store, only when needed)
     *   RUNNING → IDLE     endPass(): the pass (CAS); it fails when a trigger marked AGAIN meanwhile
     *   any → IDLE         abandon(): the pass, when it gives up (error, closed connection)
     * Nobody but the pass moves the word out of RUNNING or AGAIN except to AGAIN; an unknown value
     * is impossible and throws.
     */
    private static final int IDLE = 0;
    private static final int RUNNING = 1;
    private static final int AGAIN = 2;

    @SuppressWarnings("unused") private volatile int state;
    private volatile boolean finish;

    /** An idle word. */
    public PassWord() {
    }

    /**
     * A trigger, after making its work visible: true if the caller must run (or dispatch) a pass;
     * false if a pass is running or due, which will see the work.
     */
    public final boolean claim() {
        for (;;) {
            int s = (int) STATE.getVolatile(this);
            if (s == IDLE) {
                if (STATE.compareAndSet(this, IDLE, RUNNING)) {
                    return true;
                }
            } else if (s == RUNNING) {
                if (STATE.compareAndSet(this, RUNNING, AGAIN)) {
                    return false;
                }
            } else if (s == AGAIN) {
                return false;
            } else {
                throw new IllegalStateException("pass word in unknown state " + s);
            }
        }
    }

    /**
     * The pass, before each round: RUNNING again. Stores only after a trigger marked AGAIN; a trigger
     * racing with the check finds RUNNING and marks AGAIN again, which makes {@link #endPass} fail.
     */
    public final void beginRound() {
        int s = (int) STATE.getVolatile(this);
        if (s == AGAIN) {
            STATE.setVolatile(this, RUNNING);
        } else if (s != RUNNING) {
            throw new IllegalStateException("pass word " + (s == IDLE ? "idle" : "in unknown state " + s) + " in a pass");
        }
    }

    /** The pass, after a round: true when it is over (IDLE); false when a trigger came meanwhile (run another round). */
    public final boolean endPass() {
        return STATE.compareAndSet(this, RUNNING, IDLE);
    }

    /** The pass gives up (an error, a closed connection): IDLE whatever was triggered meanwhile. */
    public final void abandon() {
        STATE.setVolatile(this, IDLE);
    }

    /** True while a pass is running or due. */
    public final boolean busy() {
        return (int) STATE.getVolatile(this) != IDLE;
    }

    /**
     * Asks for a finish once no pass is running: sets the flag, then returns true when no pass is
     * running now (the caller finishes). Otherwise the running pass finishes, seeing
     * {@link #finishRequested} after its successful {@link #endPass}.
     */
    public final boolean requestFinish() {
        finish = true;
        return !busy();
    }

    /** After a successful {@link #endPass}: true if a finish was requested (the pass finishes). */
    public final boolean finishRequested() {
        return finish;
    }
}
