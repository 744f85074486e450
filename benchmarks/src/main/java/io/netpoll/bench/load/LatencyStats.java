package io.netpoll.bench.load;

import org.HdrHistogram.Histogram;

/**
 * Statistics of one load run, with no I/O: the counted window, a latency histogram and error counts.
 *
 * A response is counted when its request was sent (closed loop) or due (open loop) inside the window
 * and it arrived before the window closed, as in echo-load.c, so requests issued during warm-up do not
 * leak in. Separately, {@link #completed()} counts every response that arrived inside the window,
 * whenever its request was issued: that is the work the server did during the window, the right
 * divisor for the server's CPU time over the same window.
 */
final class LatencyStats {
    /** Latencies are recorded in nanoseconds, 3 significant digits, up to one hour. */
    private final Histogram histogram = new Histogram(3_600_000_000_000L, 3);
    private long windowStart;
    private long windowEnd;
    private long counted;
    private long completed;
    private long errors;

    /**
     * Starts counting afresh over [startNs, endNs): clears the histogram and the counters (errors
     * are kept). The driver calls this once in the middle of its warm-up too, so that both outcomes
     * of every check below are already compiled when the real window opens: a path first taken at the
     * window's start would make the JIT recompile the hot loop there and stall it for milliseconds.
     */
    void restart(long startNs, long endNs) {
        histogram.reset();
        windowStart = startNs;
        windowEnd = endNs;
        counted = 0;
        completed = 0;
    }

    long windowEnd() {
        return windowEnd;
    }

    /** A response arrived at {@code doneNs} for a request sent (or due) at {@code startNs}. */
    void response(long startNs, long doneNs) {
        if (doneNs < windowEnd) {
            completed++;
            if (startNs >= windowStart) {
                long ns = Math.max(0, doneNs - startNs);
                histogram.recordValue(Math.min(ns, histogram.getHighestTrackableValue()));
                counted++;
            }
        }
    }

    void error() {
        errors++;
    }

    long errors() {
        return errors;
    }

    long completed() {
        return completed;
    }

    /** The result line, in the key=value style of echo-load.c with a few keys added at the end. */
    String resultLine(LoadConfig cfg) {
        double secs = (windowEnd - windowStart) / 1e9;
        return String.format(java.util.Locale.ROOT,
                "conns=%d size=%d pipeline=%d rate=%.0f requests=%d errors=%d qps=%.0f p50_us=%d p99_us=%d"
                        + " p999_us=%d max_us=%d idle=%d completed=%d window_s=%.3f",
                cfg.conns(), cfg.size(), cfg.pipeline(), cfg.rate(), counted, errors, counted / secs,
                us(50), us(99), us(99.9), histogram.getMaxValue() / 1000, cfg.idle(), completed, secs);
    }

    private long us(double percentile) {
        return counted == 0 ? 0 : histogram.getValueAtPercentile(percentile) / 1000;
    }
}
