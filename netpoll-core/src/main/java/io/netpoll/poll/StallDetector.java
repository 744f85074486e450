package io.netpoll.poll;

import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Detects a poller thread stuck in one batch of work (a handler or coroutine that blocks or computes
 * for long on the poller thread, stalling every other connection of that poller). One daemon thread
 * for the process samples the registered pollers every 100 ms; when one has been busy longer than
 * its threshold it logs a WARNING with the poller thread's stack (what is blocking it), once per
 * stall. The poller pays nothing for it but two plain stores of its batch counter per batch (no
 * clock read, no fence): a batch is "the same one" while the counter stays at one odd value, and
 * its length is measured by this thread's clock from the first sample that saw that value, so a
 * stall is reported up to one period (100 ms) late and its length is a lower bound.
 */
public final class StallDetector {
    private static final System.Logger LOG = System.getLogger("io.netpoll.poll");
    private static final long PERIOD_MS = 100;
    private static final Map<Poller, Watch> WATCHED = new WeakHashMap<>();
    private static Thread thread;

    private StallDetector() {
    }

    /** Watches {@code poller}; a batch longer than {@code thresholdNanos} is reported. */
    public static synchronized void watch(Poller poller, long thresholdNanos) {
        if (thresholdNanos <= 0) {
            return;
        }
        WATCHED.put(poller, new Watch(thresholdNanos));
        if (thread == null) {
            thread = new Thread(StallDetector::run, "netpoll-stall-detector");
            thread.setDaemon(true);
            thread.start();
        }
    }

    private static void run() {
        for (;;) {
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (StallDetector.class) {
                WATCHED.entrySet().removeIf(e -> !e.getKey().isRunning());
                for (Map.Entry<Poller, Watch> e : WATCHED.entrySet()) {
                    check(e.getKey(), e.getValue());
                }
            }
        }
    }

    /** What the detector knows of one poller; detector thread only. */
    private static final class Watch {
        final long thresholdNanos;
        /** The stall of {@link #batch} was reported. */
        boolean reported;
        /** The batch counter at the last sample, and when a sample first saw that value. */
        long batch;
        long seenAt;

        Watch(long thresholdNanos) {
            this.thresholdNanos = thresholdNanos;
        }
    }

    private static void check(Poller p, Watch w) {
        long batch = p.batchCount();
        long now = System.nanoTime();
        if ((batch & 1) == 0 || batch != w.batch) {
            w.reported = false; // waiting, or a new batch since the last sample
            w.batch = batch;
            w.seenAt = now;
            return;
        }
        long busy = now - w.seenAt;
        if (busy > w.thresholdNanos) {
            if (!w.reported) {
                w.reported = true;
                StringBuilder sb = new StringBuilder();
                for (StackTraceElement el : p.thread().getStackTrace()) {
                    sb.append("\n\tat ").append(el);
                }
                LOG.log(System.Logger.Level.WARNING, p.name() + " has been busy for at least "
                        + TimeUnit.NANOSECONDS.toMillis(busy) + " ms: every other connection on it waits."
                        + " A handler is blocking or computing on the poller thread; run such handlers on an"
                        + " executor (Java) or another dispatcher (Kotlin). Poller stack:" + sb);
            }
        }
    }
}
