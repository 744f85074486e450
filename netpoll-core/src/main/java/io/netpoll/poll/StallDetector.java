package io.netpoll.poll;

import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Detects a poller thread stuck in one batch of work (a handler or coroutine that blocks or computes
 * for long on the poller thread, stalling every other connection of that poller). One daemon thread
 * for the process samples the registered pollers every 100 ms; when one has been busy longer than
 * its threshold it logs a WARNING with the poller thread's stack (what is blocking it), once per
 * stall. Cost while nothing stalls: one volatile read per poller per sample.
 */
public final class StallDetector {
    private static final System.Logger LOG = System.getLogger("io.netpoll.poll");
    private static final long PERIOD_MS = 100;
    private static final Map<Poller, long[]> WATCHED = new WeakHashMap<>();
    private static Thread thread;

    private StallDetector() {
    }

    /** Watches {@code poller}; a batch longer than {@code thresholdNanos} is reported. */
    public static synchronized void watch(Poller poller, long thresholdNanos) {
        if (thresholdNanos <= 0) {
            return;
        }
        WATCHED.put(poller, new long[] {thresholdNanos, 0});
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
                for (Map.Entry<Poller, long[]> e : WATCHED.entrySet()) {
                    check(e.getKey(), e.getValue());
                }
            }
        }
    }

    private static void check(Poller p, long[] state) {
        long busy = p.busyNanos();
        if (busy > state[0]) {
            if (state[1] == 0) {
                state[1] = 1;
                StringBuilder sb = new StringBuilder();
                for (StackTraceElement el : p.thread().getStackTrace()) {
                    sb.append("\n\tat ").append(el);
                }
                LOG.log(System.Logger.Level.WARNING, p.name() + " has been busy for "
                        + TimeUnit.NANOSECONDS.toMillis(busy) + " ms: every other connection on it waits."
                        + " A handler is blocking or computing on the poller thread; run such handlers on an"
                        + " executor (Java) or another dispatcher (Kotlin). Poller stack:" + sb);
            }
        } else {
            state[1] = 0;
        }
    }
}
