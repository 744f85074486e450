package io.netpoll;

import io.netpoll.buffer.BufferPool;
import io.netpoll.client.DialAttempt;
import io.netpoll.conn.Addresses;
import io.netpoll.conn.ConnConfig;
import io.netpoll.error.ConnectionClosedException;
import io.netpoll.error.DialTimeoutException;
import io.netpoll.error.SyscallException;
import io.netpoll.poll.LoadBalance;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.PollerGroup;
import io.netpoll.timer.Deadlines;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * netpoll's client side: non-blocking connects, waiting for writable and reading {@code SO_ERROR},
 * over a shared group of client pollers.
 *
 * <pre>{@code
 * try (Connection c = Dialer.dial("tcp", "127.0.0.1:8080", Duration.ofSeconds(1))) {
 *     c.writer().writeInt(5);
 *     c.writer().writeString("hello");
 *     c.writer().flush();
 *     int n = c.reader().readInt();               // blocks until 4 bytes arrived
 *     String s = c.reader().readString(n);
 * }
 * }</pre>
 * Networks: {@code tcp} (every address a host name resolves to is tried in order until one
 * connects), {@code tcp4}, {@code tcp6}, {@code unix}. Errors:
 * {@link io.netpoll.error.ConnectionRefusedException}, {@link io.netpoll.error.UnreachableException},
 * {@link DialTimeoutException} (the whole dial, over all addresses), {@link io.netpoll.error.UnsupportedException}
 * for an unknown network, host or malformed address, {@link io.netpoll.error.ConnectionClosedException}
 * when the dialer's poller group is closed before or while the dial waits (the socket is closed), and
 * {@link io.netpoll.error.SyscallException} with its errno for the rest (EAGAIN at once for a unix
 * socket whose listener's queue is full). A dialed connection is used with blocking calls,
 * or given a handler with {@link Connection#setOnRequest} (run on the dialer's executor).
 */
public final class Dialer {
    private static final class Shared {
        static final PollerGroup GROUP;

        static {
            try {
                GROUP = new PollerGroup("netpoll-client", Math.max(1, PollerGroup.defaultSize() / 2), LoadBalance.ROUND_ROBIN);
            } catch (SyscallException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private final PollerGroup group;
    private final ConnConfig config;

    private Dialer(PollerGroup group, ConnConfig config) {
        this.group = group;
        this.config = config;
    }

    /** A dialer on the shared client pollers whose connections run handlers on {@code executor}. */
    public static Dialer create(Executor executor) {
        ConnConfig c = new ConnConfig(executor, null, null, null, 0, 0, 0, ConnConfig.DEFAULT_MAX_INPUT, 0,
                BufferPool.defaultPool());
        return new Dialer(Shared.GROUP, c);
    }

    /** A dialer on {@code group} with connection settings {@code config}. */
    public static Dialer create(PollerGroup group, ConnConfig config) {
        return new Dialer(group, config);
    }

    /** Dials with the shared client pollers; handlers set later run on a bounded pool. */
    public static Connection dial(String network, String address, Duration timeout) throws IOException {
        return Default.DIALER.connect(network, address, timeout);
    }

    private static final class Default {
        static final Dialer DIALER = create(HandlerExecutors.boundedPool(HandlerExecutors.defaultPoolSize()));
    }

    /**
     * Connects, blocking the calling thread; {@code timeout} null, zero or ~146 years and more
     * ({@link Deadlines#FOREVER}): no limit; negative: {@link DialTimeoutException} at once. A thread
     * interrupted while it waits gets {@link InterruptedIOException} (its interrupt status kept), its
     * socket closed, and no further address is tried.
     */
    public Connection connect(String network, String address, Duration timeout) throws IOException {
        if (timeout != null && timeout.isNegative()) {
            throw new DialTimeoutException();
        }
        long deadline = Deadlines.after(System.nanoTime(), Deadlines.timeoutNanos(timeout));
        List<SocketAddress> addresses = Addresses.resolve(network, address, false);
        IOException last = null;
        for (SocketAddress a : addresses) {
            if (deadline != 0 && System.nanoTime() - deadline >= 0) {
                throw new DialTimeoutException();
            }
            DialAttempt attempt = new DialAttempt(a, group.next(), config);
            try {
                attempt.begin(deadline);
                while (attempt.connecting()) {
                    attempt.pollDesc().block(PollDesc.WRITE);
                    attempt.check();
                }
                return attempt.finish();
            } catch (DialTimeoutException | ConnectionClosedException | InterruptedIOException e) {
                attempt.abandon();
                throw e; // no other address can do better (an interrupted caller wants to stop)
            } catch (IOException e) {
                attempt.abandon();
                last = e;
            } catch (RuntimeException | Error e) {
                attempt.abandon(); // a bug or out of memory: the socket must not leak either way
                throw e;
            }
        }
        throw last;
    }
}
