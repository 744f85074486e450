package io.netpoll.poll;

import io.netpoll.error.SyscallException;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed set of {@link Poller}s and the rule that places connections on them.
 *
 * <p>Default size ({@link #defaultSize()}): one poller per available processor, at most 64. A
 * poller is one thread that sleeps in {@code epoll_wait} while idle; handlers that run inline and
 * coroutines resumed in place do their work on it, so one per core lets them use every core. When
 * handlers run on an executor, fewer pollers are enough (the poller then only reads and writes).
 */
public final class PollerGroup implements AutoCloseable {
    private final Poller[] pollers;
    private final LoadBalance balance;
    private final AtomicInteger next = new AtomicInteger();

    public PollerGroup(String name, int size, LoadBalance balance) throws SyscallException {
        if (size < 1) {
            throw new IllegalArgumentException("poller count must be at least 1, got " + size);
        }
        this.balance = balance;
        this.pollers = new Poller[size];
        try {
            for (int i = 0; i < size; i++) {
                pollers[i] = new Poller(name + "-" + i);
            }
        } catch (SyscallException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** One per available processor, capped at 64. */
    public static int defaultSize() {
        return Math.max(1, Math.min(64, Runtime.getRuntime().availableProcessors()));
    }

    /**
     * The poller for the next connection, by the group's {@link LoadBalance}, passing over pollers that
     * are no longer running: one whose loop failed (it logged why and released its connections) gets no
     * new ones while others run. When none runs, the pick stands, and registering with it fails with
     * the closed poller's error.
     */
    public Poller next() {
        if (pollers.length == 1) {
            return pollers[0];
        }
        int i = switch (balance) {
            case ROUND_ROBIN -> Math.floorMod(next.getAndIncrement(), pollers.length);
            case RANDOM -> ThreadLocalRandom.current().nextInt(pollers.length);
        };
        Poller p = pollers[i];
        if (p.isRunning()) {
            return p;
        }
        for (int k = 1; k < pollers.length; k++) {
            Poller q = pollers[(i + k) % pollers.length];
            if (q.isRunning()) {
                return q;
            }
        }
        return p;
    }

    public List<Poller> pollers() {
        return List.of(pollers);
    }

    public int size() {
        return pollers.length;
    }

    @Override
    public void close() {
        for (Poller p : pollers) {
            if (p != null) {
                p.close();
            }
        }
    }
}
