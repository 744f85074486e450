package io.netpoll;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where handlers ({@link OnRequest}, {@link OnConnect}, callbacks) run. Pick by what the handler does:
 * <ul>
 *   <li>{@link #inline()}: on the poller thread that read the bytes, with no hand-off at all. The
 *       fastest choice, for handlers that never block (parse what is there, write, flush, return).
 *       A blocking read on the poller thread is refused with {@link IllegalStateException}, and a
 *       handler that computes for long delays every other connection on that poller.</li>
 *   <li>{@link #boundedPool(int)} (the default, sized {@link #defaultPoolSize()}): platform threads,
 *       for handlers that block (blocking reads of whole frames, calls to databases). Costs a hand-off
 *       to a pool thread per burst of input.</li>
 *   <li>{@link #virtualThreads()} (JDK 21+): a virtual thread per task; blocking handlers without a
 *       pool bound. Throws {@link UnsupportedOperationException} on older JDKs.</li>
 * </ul>
 *
 * <p><b>An executor of your own</b> must accept every task: a handler pass it refuses (a
 * {@code RejectedExecutionException} from a full bounded queue, or a shut-down executor) closes that
 * connection with the refusal as its cause, dropping its unread input, since no later pass could be
 * counted on; and an {@code onDisconnect} or close callback it refuses runs at once on the refusing
 * thread instead (often the connection's poller thread), so that no callback is lost. Queue without a
 * bound, as {@link #boundedPool(int)} does.
 */
public final class HandlerExecutors {
    private static final Executor INLINE = new Executor() {
        @Override
        public void execute(Runnable command) {
            command.run();
        }

        @Override
        public String toString() {
            return "inline";
        }
    };

    private HandlerExecutors() {
    }

    /** Runs handlers on the poller thread. */
    public static Executor inline() {
        return INLINE;
    }

    /** True for {@link #inline()}. */
    public static boolean isInline(Executor executor) {
        return executor == INLINE;
    }

    /** 16 times the available processors, at least 32, at most 1024. */
    public static int defaultPoolSize() {
        return Math.max(32, Math.min(1024, 16 * Runtime.getRuntime().availableProcessors()));
    }

    /**
     * A pool of at most {@code maxThreads} daemon threads named {@code netpoll-handler-N}; idle threads
     * exit after 60 s. Tasks beyond the threads queue (unbounded queue, so a burst is never refused).
     */
    public static ExecutorService boundedPool(int maxThreads) {
        if (maxThreads < 1) {
            throw new IllegalArgumentException("maxThreads must be at least 1: " + maxThreads);
        }
        AtomicInteger n = new AtomicInteger();
        ThreadFactory f = r -> {
            Thread t = new Thread(r, "netpoll-handler-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        ThreadPoolExecutor pool = new ThreadPoolExecutor(maxThreads, maxThreads, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), f);
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** A new virtual thread per task (JDK 21+). */
    public static ExecutorService virtualThreads() {
        try {
            MethodHandle m = MethodHandles.publicLookup().findStatic(java.util.concurrent.Executors.class,
                    "newVirtualThreadPerTaskExecutor", MethodType.methodType(ExecutorService.class));
            return (ExecutorService) m.invokeExact();
        } catch (NoSuchMethodException | IllegalAccessException e) {
            throw new UnsupportedOperationException("virtual threads need JDK 21 or newer; this is "
                    + Runtime.version(), e);
        } catch (Throwable e) {
            throw new IllegalStateException("could not create a virtual-thread executor", e);
        }
    }
}
