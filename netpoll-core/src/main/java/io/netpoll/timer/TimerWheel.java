package io.netpoll.timer;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A hashed timing wheel (Varghese &amp; Lauck, "Hashed and Hierarchical Timing Wheels", scheme 6)
 * with no thread of its own: its owner (a poller) calls {@link #advance} from its loop and sleeps
 * no longer than {@link #nanosUntilNextTick}.
 *
 * <p>Time is cut into ticks of {@code tickNanos} (the poller uses 1 ms, the resolution of
 * {@code epoll_wait}'s timeout). A timeout for deadline {@code d} belongs to tick
 * {@code ceil((d - origin) / tickNanos)} and sits in bucket {@code tick % wheelSize}; deadlines
 * more than one revolution away share buckets with nearer ones and are skipped until their own
 * tick. Guarantees:
 * <ul>
 *   <li>never early: a task runs only from an {@code advance(now)} with {@code now >= deadline};</li>
 *   <li>at most one tick late, provided the owner calls {@code advance} when
 *       {@link #nanosUntilNextTick} says;</li>
 *   <li>{@link #schedule} and {@link Timeout#cancel} are O(1) and safe from any thread. From other
 *       threads, new timeouts wait in a lock-free queue until the owner's next {@code advance} or
 *       {@code nanosUntilNextTick}; the caller must wake the owner if the new deadline is earlier than
 *       the owner's planned wake-up (the poller does).</li>
 * </ul>
 * Expired tasks run on the owner thread, inside {@code advance}; an exception from a task is
 * passed to the error handler and does not stop the others.
 */
public final class TimerWheel {
    private final long tickNanos;
    private final int mask;
    private final long origin;
    private final Timeout.Bucket[] buckets;
    private final ConcurrentLinkedQueue<Timeout> incoming = new ConcurrentLinkedQueue<>();
    private final java.util.function.Consumer<Throwable> onError;

    private Thread owner;
    /** The last tick fully processed (owner thread). */
    private long currentTick;
    /** A lower bound of the earliest pending tick, or Long.MAX_VALUE when nothing is pending (owner). */
    private long earliestTick = Long.MAX_VALUE;
    /** Pending timeouts linked into buckets (owner thread). */
    private int linked;

    /**
     * @param tickNanos resolution; 1 ms for pollers
     * @param wheelSize number of buckets, rounded up to a power of two; 512 x 1 ms covers 0.5 s
     *                  per revolution, so typical I/O deadlines (seconds) go round a few times
     * @param startNanos the current time on the clock {@link #advance} will be called with
     */
    public TimerWheel(long tickNanos, int wheelSize, long startNanos, java.util.function.Consumer<Throwable> onError) {
        if (tickNanos <= 0 || wheelSize <= 0) {
            throw new IllegalArgumentException("tickNanos and wheelSize must be positive");
        }
        int size = Integer.highestOneBit(Math.max(1, wheelSize - 1)) << 1;
        this.tickNanos = tickNanos;
        this.mask = size - 1;
        this.origin = startNanos;
        this.buckets = new Timeout.Bucket[size];
        for (int i = 0; i < size; i++) {
            buckets[i] = new Timeout.Bucket();
        }
        this.onError = onError;
    }

    /** Binds the wheel to the thread that will call {@link #advance}; schedules from it skip the queue. */
    public void setOwner(Thread owner) {
        this.owner = owner;
    }

    public long tickNanos() {
        return tickNanos;
    }

    /**
     * Schedules {@code task} to run on the owner thread at the first tick at or after
     * {@code deadlineNanos} (same clock as {@link #advance}). Safe from any thread.
     */
    public Timeout schedule(long deadlineNanos, Runnable task) {
        long rel = deadlineNanos - origin;
        long tick = rel <= 0 ? 0 : (rel + tickNanos - 1) / tickNanos;
        Timeout t = new Timeout(this, deadlineNanos, tick, task);
        if (Thread.currentThread() == owner) {
            link(t);
        } else {
            incoming.add(t);
        }
        return t;
    }

    void cancelled(Timeout t) {
        if (Thread.currentThread() == owner && t.bucket != null) {
            t.bucket.remove(t);
            linked--;
        }
    }

    private void link(Timeout t) {
        if (!t.isPending()) {
            return;
        }
        long tick = Math.max(t.tick, currentTick + 1);
        buckets[(int) (tick & mask)].add(t);
        linked++;
        if (tick < earliestTick) {
            earliestTick = tick;
        }
    }

    private void drainIncoming() {
        Timeout t;
        while ((t = incoming.poll()) != null) {
            link(t);
        }
    }

    /**
     * True when nothing is scheduled, so the owner need not read the clock for this wheel: neither
     * to {@link #advance} nor to compute a sleep. Owner thread only.
     */
    public boolean idle() {
        drainIncoming();
        return linked == 0;
    }

    /** Timeouts scheduled and not yet expired or unlinked (owner thread; for tests and metrics). */
    public int pending() {
        drainIncoming();
        return linked;
    }

    /**
     * Nanoseconds from {@code now} until the owner must next call {@link #advance}, 0 if it is due,
     * or -1 if nothing is scheduled (sleep until woken). Owner thread only.
     */
    public long nanosUntilNextTick(long now) {
        drainIncoming();
        if (linked == 0) {
            earliestTick = Long.MAX_VALUE;
            return -1;
        }
        if (earliestTick <= currentTick) {
            earliestTick = scanEarliest();
            if (earliestTick == Long.MAX_VALUE) {
                throw new IllegalStateException("timer wheel corrupted: " + linked + " timeouts linked, every bucket empty");
            }
        }
        long due = origin + earliestTick * tickNanos;
        return Math.max(0, due - now);
    }

    /** The first tick after the current one whose bucket holds anything; the wake-up may be early, never late. */
    private long scanEarliest() {
        for (long tick = currentTick + 1; tick <= currentTick + buckets.length; tick++) {
            if (buckets[(int) (tick & mask)].head != null) {
                return tick;
            }
        }
        return Long.MAX_VALUE;
    }

    /**
     * Runs every task whose deadline is at or before {@code now}. Owner thread only. Returns how many ran.
     *
     * <p>Each bucket is walked first and its due timeouts unlinked onto a list; their tasks run after
     * the walk, with the wheel already at that bucket's tick. So a task may cancel or schedule any
     * timeout, of this bucket too: a timeout it cancels that was due with it does not run, and one it
     * schedules for a past deadline runs at the next tick, not a revolution later.
     */
    public int advance(long now) {
        drainIncoming();
        long target = (now - origin) / tickNanos;
        if (target <= currentTick) {
            return 0;
        }
        int fired = 0;
        if (linked == 0) {
            currentTick = target;
            return 0;
        }
        // never walk more than one revolution: beyond that every bucket has been seen
        long from = Math.max(currentTick + 1, target - mask);
        for (long tick = from; tick <= target; tick++) {
            Timeout due = unlinkDue(buckets[(int) (tick & mask)], tick, now);
            currentTick = tick;
            fired += run(due);
        }
        currentTick = target;
        return fired;
    }

    /**
     * Unlinks the bucket's cancelled timeouts and, onto a list through {@code next} that it returns
     * (head first, in bucket order), its due ones. Runs nothing, so the walk sees a bucket no task
     * has changed.
     */
    private Timeout unlinkDue(Timeout.Bucket bucket, long tick, long now) {
        Timeout first = null;
        Timeout last = null;
        Timeout t = bucket.head;
        while (t != null) {
            Timeout next = t.next;
            boolean pending = t.isPending();
            if (!pending || t.tick <= tick && t.deadlineNanos - now <= 0) { // nanoTime: compared by subtraction
                bucket.remove(t);
                linked--;
                if (pending) {
                    if (last == null) {
                        first = t;
                    } else {
                        last.next = t;
                    }
                    last = t;
                }
            }
            t = next;
        }
        return first;
    }

    /** Runs the tasks of a list from {@link #unlinkDue} whose timeout is still pending (a task before may have cancelled one). */
    private int run(Timeout t) {
        int fired = 0;
        while (t != null) {
            Timeout next = t.next;
            t.next = null;
            if (t.expire()) {
                fired++;
                try {
                    t.task.run();
                } catch (Throwable e) {
                    onError.accept(e);
                }
            }
            t = next;
        }
        return fired;
    }
}
