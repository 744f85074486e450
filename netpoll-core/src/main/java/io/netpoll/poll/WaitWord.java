package io.netpoll.poll;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One of Go's poll-descriptor state words ({@code pd.rg} / {@code pd.wg}), ported: the place where
 * at most one waiter parks until I/O readiness, a deadline or a close moves it on.
 *
 * <pre>
 * state      meaning                                       moved by
 * ─────────  ────────────────────────────────────────────  ─────────────────────────────────────────
 * NIL(null)  nobody waits, no readiness latched            → WAIT by {@link #prepare} (the waiter)
 *                                                          → READY by {@link #unblock}(ioready=true)
 * READY      readiness arrived while nobody waited         → NIL by {@link #prepare} (consumed, no wait)
 * WAIT       a waiter is about to park                      → waiter by {@link #commit} (the waiter)
 *                                                          → READY / NIL by {@link #unblock}: the commit
 *                                                            then fails and the waiter does not park
 * waiter     a {@link Waiter} is parked                     → READY / NIL by {@link #unblock}, which
 *                                                            returns it to be woken;
 *                                                          → NIL by {@link #cancel} (the waiter gives up)
 * </pre>
 * After waking (or a failed commit) the waiter calls {@link #finish}, which swaps the word to NIL and
 * reports whether readiness was latched. Rules, as in Go's {@code netpollblock}/{@code netpollunblock}:
 * only I/O readiness latches READY; a timeout or close ({@code ioready=false}) never does, but still
 * takes a parked waiter out so it can see the error. A second waiter while one is waiting is a bug
 * ("double wait") and throws; an impossible state throws; nothing spins except CAS retries on a
 * changed value. Every transition is a CAS or swap on one volatile field.
 */
public final class WaitWord {
    /** Readiness latched while nobody waited. */
    public static final Object READY = new Object() {
        @Override public String toString() { return "READY"; }
    };
    /** A waiter is between {@link #prepare} and {@link #commit}. */
    public static final Object WAIT = new Object() {
        @Override public String toString() { return "WAIT"; }
    };

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(WaitWord.class, "state", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** NIL (null), READY, WAIT or a {@link Waiter}; see the class comment. */
    private volatile Object state;

    /**
     * First step of a wait. Returns {@code true} if readiness was latched (READY consumed: do not
     * wait, go and retry the I/O), {@code false} after moving NIL to WAIT (go on to {@link #commit}).
     *
     * @throws IllegalStateException if another waiter is already waiting (a double wait)
     */
    public boolean prepare() {
        for (;;) {
            Object s = state;
            if (s == READY) {
                if (STATE.compareAndSet(this, READY, null)) {
                    return true;
                }
            } else if (s == null) {
                if (STATE.compareAndSet(this, null, WAIT)) {
                    return false;
                }
            } else {
                throw new IllegalStateException("double wait: the word holds " + s);
            }
        }
    }

    /**
     * Second step: park {@code waiter} (WAIT → waiter). Returns {@code false} if an unblock came
     * between {@link #prepare} and now; then the waiter must not park but call {@link #finish}.
     */
    public boolean commit(Waiter waiter) {
        return STATE.compareAndSet(this, WAIT, waiter);
    }

    /**
     * Last step, after waking, a failed commit, or deciding not to park: clears the word and returns
     * whether I/O readiness was latched meanwhile.
     */
    public boolean finish() {
        for (;;) {
            Object old = state;
            if (old instanceof Waiter) {
                // another waiter parked meanwhile (a misuse): leave it there, so it can still be woken
                throw new IllegalStateException("corrupted wait word: waiter " + old + " still parked");
            }
            if (STATE.compareAndSet(this, old, null)) {
                return old == READY;
            }
        }
    }

    /**
     * A parked waiter gives up (its coroutine was cancelled, its thread interrupted): waiter → NIL.
     * Returns {@code true} if it was removed, so nobody will wake it; {@code false} if an unblock
     * already took it and will (or did) call {@link Waiter#wake}.
     */
    public boolean cancel(Waiter waiter) {
        return STATE.compareAndSet(this, waiter, null);
    }

    /**
     * Moves the word on: I/O readiness ({@code ioready}) latches READY; a timeout or close only
     * takes a waiter out. Returns the waiter the caller must {@link Waiter#wake}, or {@code null}.
     */
    public Waiter unblock(boolean ioready) {
        for (;;) {
            Object old = state;
            if (old == READY) {
                return null;
            }
            if (old == null && !ioready) {
                return null;
            }
            Object next = ioready ? READY : null;
            if (STATE.compareAndSet(this, old, next)) {
                return old instanceof Waiter w ? w : null;
            }
        }
    }

    /** {@link #unblock} and wake the waiter, if any. */
    public void unblockAndWake(boolean ioready) {
        Waiter w = unblock(ioready);
        if (w != null) {
            w.wake();
        }
    }

    /** True when readiness is latched and not yet consumed. */
    public boolean isReady() {
        return state == READY;
    }

    /** True when a waiter is parked (committed), not only about to park. */
    public boolean hasParkedWaiter() {
        return state instanceof Waiter;
    }

    /** True when a waiter is parked or about to park. */
    public boolean hasWaiter() {
        Object s = state;
        return s == WAIT || s instanceof Waiter;
    }

    @Override
    public String toString() {
        Object s = state;
        return s == null ? "NIL" : s.toString();
    }
}
