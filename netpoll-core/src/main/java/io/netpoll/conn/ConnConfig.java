package io.netpoll.conn;

import io.netpoll.HandlerExecutors;
import io.netpoll.OnConnect;
import io.netpoll.OnDisconnect;
import io.netpoll.OnRequest;
import io.netpoll.buffer.BufferPool;

import java.util.concurrent.Executor;

/**
 * Settings a connection starts with (the event loop's or dialer's options). Immutable; each
 * connection copies the timeouts into its own fields, which its setters change.
 *
 * @param maxInputBytes    the input cap: reading pauses while this many bytes wait unread (raised
 *                         for a single read that needs more)
 * @param writeQueueLimit  bytes that may stay queued for the poller to send when {@code flush()} returns
 */
public record ConnConfig(
        Executor executor,
        OnConnect onConnect,
        OnRequest onRequest,
        OnDisconnect onDisconnect,
        long readTimeoutNanos,
        long writeTimeoutNanos,
        long idleTimeoutNanos,
        int maxInputBytes,
        long writeQueueLimit,
        BufferPool pool) {

    /** 4 MiB: a few large frames in flight, while a flooding peer costs a bounded amount. */
    public static final int DEFAULT_MAX_INPUT = 4 << 20;

    public ConnConfig {
        if (executor == null || pool == null) {
            throw new IllegalArgumentException("executor and pool are required");
        }
        if (readTimeoutNanos < 0 || writeTimeoutNanos < 0 || idleTimeoutNanos < 0) {
            throw new IllegalArgumentException("timeouts must not be negative");
        }
        if (maxInputBytes < 1) {
            throw new IllegalArgumentException("maxInputBytes must be positive: " + maxInputBytes);
        }
        if (writeQueueLimit < 0) {
            throw new IllegalArgumentException("writeQueueLimit must not be negative: " + writeQueueLimit);
        }
    }

    /** Plain settings for a connection used with blocking or suspending calls. */
    public static ConnConfig plain() {
        return new ConnConfig(HandlerExecutors.inline(), null, null, null, 0, 0, 0, DEFAULT_MAX_INPUT, 0,
                BufferPool.defaultPool());
    }

    public boolean inline() {
        return HandlerExecutors.isInline(executor);
    }
}
