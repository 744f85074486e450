package io.netpoll.conn;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A connection's lifetime as one state word, as Go's {@code fdMutex}: every operation that touches
 * the fd or the buffers enters and leaves; {@link #markClosed} sets the CLOSED bit, after which
 * nobody can enter; whoever leaves last out of a closed word runs {@link #destroy()}, exactly once.
 * So nothing is freed under a running call.
 *
 * <p>The root of {@link NetConnection}'s class chain ({@link ConnLifetime} says what entering and
 * closing mean for a connection). Its own class so that the word can be model-checked on its own
 * (the Lincheck test in {@code io.netpoll.conn} subclasses it); nothing outside this package can
 * extend it.
 */
public abstract class UsersWord {
    private static final VarHandle USERS;

    static {
        try {
            USERS = MethodHandles.lookup().findVarHandle(UsersWord.class, "users", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /*
     * users: CLOSED bit | count of operations inside.
     *   count +1  enter(): any thread, only while CLOSED is clear (CAS)
     *   count -1  leave(): the thread that entered; the one that makes the word exactly CLOSED destroys
     *   CLOSED    markClosed(): the first closer (CAS), itself entered for the duration, so the count
     *             is at least 1 then and the closer's own leave() (or a later one) destroys
     * The word never goes back: once CLOSED, enter() fails forever, and CLOSED with a zero count
     * happens exactly once. A negative count is impossible and throws.
     */
    private static final int CLOSED = 1 << 30;
    private static final int COUNT = CLOSED - 1;

    @SuppressWarnings("unused") private volatile int users;

    UsersWord() {
    }

    /** Enters; false once closed. */
    public final boolean enter() {
        for (;;) {
            int u = (int) USERS.getVolatile(this);
            if ((u & CLOSED) != 0) {
                return false;
            }
            if (USERS.compareAndSet(this, u, u + 1)) {
                return true;
            }
        }
    }

    /** Leaves after {@link #enter()}; the last one out of a closed word runs {@link #destroy()}. */
    public final void leave() {
        for (;;) {
            int u = (int) USERS.getVolatile(this);
            if ((u & COUNT) == 0) {
                // checked before the store: a decrement past 0 would clear CLOSED and revive the word
                throw new IllegalStateException("connection left more often than entered");
            }
            if (USERS.compareAndSet(this, u, u - 1)) {
                if (u - 1 == CLOSED) {
                    destroy();
                }
                return;
            }
        }
    }

    /**
     * Not closed yet (it may be by the time the caller acts on the answer). For a connection, this is
     * {@link io.netpoll.Connection#isActive()}.
     */
    public final boolean isActive() {
        return ((int) USERS.getVolatile(this) & CLOSED) == 0;
    }

    /**
     * Sets the CLOSED bit, by a caller that has entered. Returns how many operations were inside
     * besides the caller's own (0 or more) when this call closed the word, or -1 when another closer
     * came first. Destroying is left to the caller's {@link #leave()} (or a later one).
     */
    final int markClosed() {
        int u;
        do {
            u = (int) USERS.getVolatile(this);
            if ((u & CLOSED) != 0) {
                return -1;
            }
            if ((u & COUNT) == 0) {
                throw new IllegalStateException("markClosed() by a caller that has not entered");
            }
        } while (!USERS.compareAndSet(this, u, u | CLOSED));
        return (u & COUNT) - 1;
    }

    /** Runs exactly once, on the thread whose {@link #leave()} found nobody inside a closed word. */
    abstract void destroy();
}
