package io.netpoll.timer;

import java.time.Duration;
import java.time.Instant;

/**
 * Timeouts and deadlines as {@link System#nanoTime()} values, in one place, so that none overflows:
 * deadlines are compared by subtraction, which is right only while they lie less than 2^63 ns apart.
 * A timeout of {@link #FOREVER} or more ({@code Duration.ofDays(Long.MAX_VALUE / 86400)}, Kotlin's
 * {@code Duration.INFINITE}, ~146 years) therefore means no timeout at all, as zero does.
 */
public final class Deadlines {
    /** 2^62 ns, about 146 years: a timeout this long or longer is none. */
    public static final long FOREVER = 1L << 62;
    /** {@link #FOREVER} in whole seconds, to compare a {@link Duration} without overflowing. */
    private static final long FOREVER_SECONDS = FOREVER / 1_000_000_000L;

    private Deadlines() {
    }

    /**
     * A timeout in nanoseconds: {@code null}, zero or negative: 0 (none); {@link #FOREVER} or longer
     * (including lengths {@link Duration#toNanos} cannot hold): 0 (none).
     */
    public static long timeoutNanos(Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            return 0;
        }
        if (d.getSeconds() >= FOREVER_SECONDS) {
            return 0;
        }
        return d.toNanos();
    }

    /**
     * A length of time to wait in nanoseconds, where longer means longer (a grace period):
     * {@code null} or negative: 0; at most {@link #FOREVER}.
     */
    public static long cappedNanos(Duration d) {
        if (d == null || d.isNegative()) {
            return 0;
        }
        return d.getSeconds() >= FOREVER_SECONDS ? FOREVER : d.toNanos();
    }

    /** A timeout in nanoseconds as {@link #timeoutNanos(Duration)} clamps it: at or past {@link #FOREVER}, 0 (none). */
    public static long timeoutNanos(long nanos) {
        return nanos <= 0 || nanos >= FOREVER ? 0 : nanos;
    }

    /** The nanoTime deadline {@code timeoutNanos} after {@code now}; 0 (none) for no timeout (see {@link #timeoutNanos(long)}). */
    public static long after(long now, long timeoutNanos) {
        long t = timeoutNanos(timeoutNanos);
        return t == 0 ? 0 : nonZero(now + t);
    }

    /**
     * The nanoTime at which the wall-clock {@code deadline} comes; 0 (none) for {@code null} or one
     * {@link #FOREVER} or more away; a past one is a nanoTime in the past.
     */
    public static long at(Instant deadline) {
        if (deadline == null) {
            return 0;
        }
        Instant now = Instant.now();
        long nanoNow = System.nanoTime();
        Duration fromNow = Duration.between(now, deadline);
        if (fromNow.getSeconds() >= FOREVER_SECONDS) {
            return 0;
        }
        if (fromNow.getSeconds() <= -FOREVER_SECONDS) {
            return nonZero(nanoNow - FOREVER);
        }
        return nonZero(nanoNow + fromNow.toNanos());
    }

    /** The earlier of two nanoTime deadlines, where 0 is none (later than any). */
    public static long earliest(long a, long b) {
        return a == 0 ? b : b == 0 || a - b < 0 ? a : b;
    }

    /** {@code nanoTime}, moved off 0, which means "none". */
    public static long nonZero(long nanoTime) {
        return nanoTime == 0 ? 1 : nanoTime;
    }
}
