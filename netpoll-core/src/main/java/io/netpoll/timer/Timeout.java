package io.netpoll.timer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One scheduled task in a {@link TimerWheel}: a handle to cancel it and, while it is pending, a
 * node in one bucket of the wheel.
 *
 * <pre>
 *              cancel() (any thread)
 *   PENDING ─────────────────────────▶ CANCELLED   (task never runs)
 *      │
 *      │ the wheel reaches the deadline (owner thread)
 *      ▼
 *   EXPIRED   (task runs once, on the wheel's owner thread)
 * </pre>
 * The transition out of PENDING is one CAS on {@link #state}, so a cancel racing with expiry has
 * exactly one winner: either the task runs or {@link #cancel()} returns {@code true}, never both.
 * CANCELLED and EXPIRED are final. A cancelled node is unlinked from its bucket at once when the
 * owner thread cancels it, and otherwise when the wheel next visits its bucket (within one
 * revolution), so cancel is O(1) from any thread.
 */
public final class Timeout {
    static final int PENDING = 0;
    static final int CANCELLED = 1;
    static final int EXPIRED = 2;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Timeout.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final TimerWheel wheel;
    final long deadlineNanos;
    /** The first tick at whose start {@code deadlineNanos} has passed; fixed at creation. */
    final long tick;
    final Runnable task;
    /** PENDING, CANCELLED or EXPIRED; see the class comment. */
    private volatile int state;

    // Owned by the wheel's thread: the bucket list this node is in (null while queued from
    // another thread or after unlinking) and its neighbours there; once unlinked as due, next
    // chains the timeouts whose tasks the wheel is about to run.
    Bucket bucket;
    Timeout prev;
    Timeout next;

    Timeout(TimerWheel wheel, long deadlineNanos, long tick, Runnable task) {
        this.wheel = wheel;
        this.deadlineNanos = deadlineNanos;
        this.tick = tick;
        this.task = task;
    }

    /** The absolute {@link System#nanoTime()}-based deadline this timeout was scheduled for. */
    public long deadlineNanos() {
        return deadlineNanos;
    }

    /**
     * Cancels the task. Returns {@code true} if it will never run, {@code false} if it already ran
     * or was already cancelled. Safe from any thread.
     */
    public boolean cancel() {
        if (!STATE.compareAndSet(this, PENDING, CANCELLED)) {
            return false;
        }
        wheel.cancelled(this);
        return true;
    }

    public boolean isCancelled() {
        return state == CANCELLED;
    }

    public boolean isExpired() {
        return state == EXPIRED;
    }

    boolean isPending() {
        return state == PENDING;
    }

    /** Owner thread: PENDING → EXPIRED; false if cancel won. */
    boolean expire() {
        return STATE.compareAndSet(this, PENDING, EXPIRED);
    }

    /** A doubly linked list of timeouts sharing one slot of the wheel; owner thread only. */
    static final class Bucket {
        Timeout head;
        Timeout tail;

        void add(Timeout t) {
            t.bucket = this;
            t.prev = tail;
            t.next = null;
            if (tail == null) {
                head = t;
            } else {
                tail.next = t;
            }
            tail = t;
        }

        void remove(Timeout t) {
            if (t.bucket != this) {
                throw new IllegalStateException("timeout unlinked from a bucket it is not in");
            }
            Timeout p = t.prev;
            Timeout n = t.next;
            if (p == null) {
                head = n;
            } else {
                p.next = n;
            }
            if (n == null) {
                tail = p;
            } else {
                n.prev = p;
            }
            t.prev = null;
            t.next = null;
            t.bucket = null;
        }
    }
}
