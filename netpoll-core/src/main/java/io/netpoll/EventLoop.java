package io.netpoll;

import io.netpoll.buffer.BufferPool;
import io.netpoll.conn.ConnConfig;
import io.netpoll.conn.NetConnection;
import io.netpoll.poll.LoadBalance;
import io.netpoll.poll.Poller;
import io.netpoll.poll.PollerGroup;
import io.netpoll.poll.StallDetector;
import io.netpoll.server.Acceptor;
import io.netpoll.timer.Deadlines;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * netpoll's server: accepts connections on dedicated acceptor pollers, spreads them over connection
 * pollers, and runs your callbacks ({@link OnPrepare}, {@link OnConnect}, {@link OnRequest},
 * {@link OnDisconnect}) with netpoll's ordering and concurrency rules.
 *
 * <pre>{@code
 * EventLoop loop = EventLoop.builder()
 *     .onRequest(conn -> { ... })               // required
 *     .readTimeout(Duration.ofSeconds(5))
 *     .idleTimeout(Duration.ofMinutes(1))
 *     .executor(HandlerExecutors.inline())      // handlers that never block
 *     .build();
 * Listener l = Listener.create("tcp", "127.0.0.1:8080");
 * new Thread(() -> loop.serve(l)).start();       // serve blocks until shutdown
 * ...
 * ShutdownReport r = loop.shutdown(Duration.ofSeconds(5));
 * }</pre>
 *
 * <p><b>Shutdown</b> is graceful: stop accepting (listeners close), close connections that are idle
 * (no handler running, no unread input, nothing queued to send), let the others finish their handler
 * and flush their output, re-checking every 10 ms, and force-close what is still busy at the
 * deadline. The report says how many of each. Then pollers stop and {@link #serve} returns. A
 * forced stop interrupts the handlers still running on the loop's own pool, and runs the callbacks
 * still queued there ({@link OnDisconnect}, close callbacks) on a thread of their own, waiting up to
 * 5 s for them.
 */
public final class EventLoop {
    private static final System.Logger LOG = System.getLogger("io.netpoll.server");
    /** A poller busy this long in one batch is reported by the {@link StallDetector}. */
    private static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** How long a forced shutdown waits for the callbacks it took off the loop's pool. */
    private static final Duration LEFT_OVER_WAIT = Duration.ofSeconds(5);

    private final ConnConfig config;
    private final int pollerCount;
    private final LoadBalance balance;
    private final OnPrepare onPrepare;
    private final ExecutorService ownedExecutor;
    private final Set<NetConnection> live = ConcurrentHashMap.newKeySet();
    private final List<Acceptor> acceptors = new ArrayList<>();
    private PollerGroup group;
    private Poller acceptPoller;
    private volatile boolean shuttingDown;
    /** The thread running the first shutdown (null before): a callback it runs must not wait for it. */
    private volatile Thread stopper;
    /** The thread running the callbacks a forced shutdown took off the pool (null before): the same. */
    private volatile Thread leftOverRunner;
    /** The first shutdown's report, or its failure. */
    private final CompletableFuture<ShutdownReport> outcome = new CompletableFuture<>();

    private EventLoop(Builder b) {
        Executor executor = b.executor;
        ExecutorService owned = null;
        if (executor == null) {
            owned = HandlerExecutors.boundedPool(HandlerExecutors.defaultPoolSize());
            executor = owned;
        }
        this.ownedExecutor = owned;
        this.config = new ConnConfig(executor, b.onConnect, b.onRequest, b.onDisconnect,
                b.readTimeout, b.writeTimeout, b.idleTimeout, b.maxInputBytes, b.writeQueueLimit, b.pool);
        this.pollerCount = b.pollers;
        this.balance = b.balance;
        this.onPrepare = b.onPrepare;
    }

    /** A builder for an event loop; {@link Builder#onRequest} is required (see the example above). */
    public static Builder builder() {
        return new Builder();
    }

    private synchronized void startPollers() throws IOException {
        if (shuttingDown) {
            throw new IllegalStateException("event loop is shut down");
        }
        if (group == null) {
            PollerGroup g = new PollerGroup("netpoll", pollerCount, balance);
            Poller a;
            try {
                a = new Poller("netpoll-accept");
            } catch (Throwable e) {
                g.close(); // none or both: a later serve() starts afresh
                throw e;
            }
            group = g;
            acceptPoller = a;
            for (Poller p : group.pollers()) {
                StallDetector.watch(p, STALL_NANOS);
            }
            scheduleTrim();
        }
    }

    /** Once a second the pool drops chunks unused since the last trim, so idle memory goes back to the OS. */
    private void scheduleTrim() {
        acceptPoller.schedule(System.nanoTime() + TimeUnit.SECONDS.toNanos(1), () -> {
            config.pool().trim(group.pollers());
            if (!shuttingDown) {
                scheduleTrim();
            }
        });
    }

    /**
     * Accepts connections on {@code listener} and serves them until {@link #shutdown}; blocks until
     * then. Several listeners may be served at once (call from several threads). The event loop owns
     * the listener from now on and closes it at shutdown; called after {@link #shutdown}, it closes
     * the listener and throws {@link IllegalStateException}. An interrupt of the serving thread ends
     * the wait with {@link java.io.InterruptedIOException} (the loop goes on serving).
     */
    public void serve(Listener listener) throws IOException {
        listener.handOver();
        Acceptor acceptor = null;
        try {
            startPollers();
            synchronized (this) {
                if (shuttingDown) {
                    throw new IllegalStateException("event loop is shut down");
                }
                acceptor = new Acceptor(listener, acceptPoller, fd -> accepted(fd));
                acceptors.add(acceptor);
                acceptor.start();
            }
        } catch (Throwable e) {
            synchronized (this) {
                acceptors.remove(acceptor);
            }
            listener.close(); // the loop owns it now: refused (shut down) or failed, it is closed
            throw e;
        }
        try {
            outcome.get();
        } catch (java.util.concurrent.ExecutionException e) {
            // the shutdown failed; its caller got the error, and the loop is stopped either way
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while serving");
        }
    }

    private void accepted(int fd) {
        NetConnection conn = new NetConnection(fd, group.next(), config);
        try {
            synchronized (this) { // with shutdown's flag: counted by it, or refused
                if (shuttingDown) {
                    conn.close();
                    return;
                }
                live.add(conn);
            }
            conn.addCloseCallback(live::remove);
            if (onPrepare != null) {
                onPrepare.onPrepare(conn);
            }
            conn.start();
        } catch (Throwable e) {
            // the connection owns the fd now: close it through the connection, once (rethrown, the
            // acceptor would close the number again, which another socket may have taken meanwhile)
            conn.closeWith(e);
            try {
                LOG.log(System.Logger.Level.WARNING, "starting a connection failed; closed " + conn, e);
            } catch (Throwable ignored) {
                // out of fds or memory: the close is what matters
            }
        }
    }

    /** Connections open now. */
    public int connections() {
        return live.size();
    }

    /** The connection pollers (empty before the first {@link #serve}). */
    public List<Poller> pollers() {
        PollerGroup g = group;
        return g == null ? List.of() : g.pollers();
    }

    /**
     * Graceful shutdown (see the class comment); blocks until it is done and returns what it had to
     * force. Idempotent: later calls (also concurrent ones) wait for the first and return its report,
     * or throw {@link IllegalStateException} caused by what made the first one fail. An interrupt
     * during the grace period (or one pending at the call) ends the grace early, so what is still
     * busy is forced, and stays set; a later call waits on regardless.
     *
     * <p>From a handler or a close callback use {@link #shutdownAsync}. This call waits for every
     * busy connection, so a handler that calls it waits out the whole grace for its own connection,
     * which is then forced (and, with the loop's own executor, the forced handlers' threads are
     * interrupted, the caller's included). Where it cannot return at all it throws
     * {@link IllegalStateException} instead, unless the shutdown has already finished: on a poller
     * thread (an inline handler or callback, {@code onPrepare}), whose connections it would stall,
     * and in a callback that the shutdown itself runs as it closes a connection.
     */
    public ShutdownReport shutdown(Duration grace) {
        boolean first;
        synchronized (this) {
            first = !shuttingDown;
            if (first) {
                refuseBlockingCall();
                shuttingDown = true;
                stopper = Thread.currentThread();
                for (Acceptor a : acceptors) {
                    a.stop();
                }
            }
        }
        if (!first) {
            if (!outcome.isDone()) {
                refuseBlockingCall();
            }
            return awaitReport(); // outside the lock: the first call takes it again to finish
        }
        try {
            ShutdownReport r = drainAndStop(grace);
            outcome.complete(r); // serve() returns, later calls get it
            return r;
        } catch (Throwable e) {
            outcome.completeExceptionally(e);
            throw e;
        }
    }

    /** Throws where a shutdown in progress cannot be waited for (see {@link #shutdown}). */
    private void refuseBlockingCall() {
        if (Poller.current() != null) {
            throw new IllegalStateException("shutdown() would block a poller thread for the grace period;"
                    + " use shutdownAsync() from a handler");
        }
        if (Thread.currentThread() == stopper || Thread.currentThread() == leftOverRunner) {
            throw new IllegalStateException("shutdown() from a callback the shutdown runs would wait for itself;"
                    + " use shutdownAsync()");
        }
    }

    /** The first shutdown's work: the grace period, the forced closes, stopping the pollers and the owned executor. */
    private ShutdownReport drainAndStop(Duration grace) {
        long start = System.nanoTime();
        long deadline = start + Deadlines.cappedNanos(grace);
        int idle = 0;
        int forced = 0;
        Set<NetConnection> busyOnce = ConcurrentHashMap.newKeySet();
        // closed here as idle: counted once, even if input that raced the close makes a pass busy
        Set<NetConnection> closedIdle = new HashSet<>();
        try {
            for (;;) {
                for (NetConnection c : live) {
                    if (closedIdle.contains(c)) {
                        continue;
                    }
                    if (!c.isActive()) {
                        if (c.requestBusy()) {
                            // closed by itself (its peer's reset, its handler) with a handler still
                            // running: the grace is for that handler too
                            busyOnce.add(c);
                        }
                        continue;
                    }
                    if (isIdle(c)) {
                        if (!busyOnce.contains(c)) {
                            idle++;
                        }
                        closedIdle.add(c);
                        c.close();
                    } else {
                        busyOnce.add(c);
                    }
                }
                if (liveBusy() == 0 || System.nanoTime() - deadline >= 0) {
                    break;
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            for (NetConnection c : live) {
                if (!closedIdle.contains(c) && (c.isActive() || c.requestBusy())) {
                    forced++;
                    busyOnce.remove(c);
                    c.close();
                }
            }
        } finally {
            stopPollersAndExecutor(forced > 0);
        }
        // every connection busy once and not forced drained: closed here once idle, or by itself
        // (its handler closed it, or the peer's end did) while the grace ran
        int drained = busyOnce.size();
        if (forced > 0) {
            LOG.log(System.Logger.Level.WARNING, "shutdown forced " + forced + " busy connection(s) closed");
        }
        return new ShutdownReport(idle, drained, forced, Duration.ofNanos(System.nanoTime() - start));
    }

    private void stopPollersAndExecutor(boolean interruptHandlers) {
        PollerGroup g;
        Poller a;
        synchronized (this) { // no serve() starts pollers once shuttingDown is set: close them outside
            g = group;
            a = acceptPoller;
        }
        // closed outside the lock: an acceptor thread finishing its batch takes the lock in accepted()
        // (which refuses the connection), and each close waits for its poller thread to end.
        // Interrupted (the grace ended early), each close would return at once: the wait is kept.
        boolean interrupted = Thread.interrupted();
        try {
            if (g != null) {
                g.close();
            }
            if (a != null) {
                a.close();
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (ownedExecutor != null) {
            if (interruptHandlers) {
                // interrupt the forced handlers still in user code; what was still queued (the closed
                // connections' onDisconnect and close callbacks, passes that find their connection
                // closed) runs once each rather than never
                runLeftOver(ownedExecutor.shutdownNow());
            } else {
                ownedExecutor.shutdown();
            }
        }
    }

    /**
     * Starts {@link #shutdown} on a (non-daemon) thread of its own and returns at once; the future
     * completes with the report once the loop has stopped, or exceptionally as {@code shutdown}
     * would throw. Once a shutdown has begun, returns that one's future without a new thread. Safe
     * anywhere, also from a handler or a close callback:
     * <pre>{@code
     * onRequest(conn -> {
     *     if (isQuitCommand(conn)) {
     *         loop.shutdownAsync(Duration.ofSeconds(2)); // this connection drains like the others
     *     }
     * })
     * }</pre>
     * If no thread can be started, that error is thrown here and nothing was shut down.
     */
    public CompletableFuture<ShutdownReport> shutdownAsync(Duration grace) {
        if (shuttingDown) {
            return outcome.copy();
        }
        Thread t = new Thread(() -> {
            try {
                shutdown(grace);
            } catch (Throwable ignored) {
                // in the future already (the first call), or the first call's failure is
            }
        }, "netpoll-shutdown");
        t.setDaemon(false);
        t.start();
        return outcome.copy();
    }

    /**
     * Runs the tasks a forced stop took off the loop's own pool, on a thread of their own (not
     * interrupted, not inside the caller's stack, which may be a handler), and waits for them up to
     * {@link #LEFT_OVER_WAIT}: a callback that blocks longer finishes after the shutdown returns.
     */
    private void runLeftOver(List<Runnable> tasks) {
        if (tasks.isEmpty()) {
            return;
        }
        Runnable all = () -> {
            for (Runnable task : tasks) {
                try {
                    task.run();
                } catch (Throwable e) {
                    LOG.log(System.Logger.Level.ERROR, "a callback queued at the forced shutdown failed", e);
                }
            }
        };
        Thread t = new Thread(all, "netpoll-shutdown-callbacks");
        t.setDaemon(true);
        leftOverRunner = t;
        try {
            t.start();
        } catch (Throwable e) {
            // no thread for it (out of memory or threads): here, rather than never
            leftOverRunner = null;
            all.run();
            return;
        }
        boolean interrupted = false;
        long end = System.nanoTime() + LEFT_OVER_WAIT.toNanos();
        while (t.isAlive()) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            } catch (InterruptedException e) {
                interrupted = true; // kept for the caller; the wait is bounded anyway
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Connections the grace still waits for: open ones, and closed ones whose handler still runs. */
    private int liveBusy() {
        int n = 0;
        for (NetConnection c : live) {
            if (c.isActive() || c.requestBusy()) {
                n++;
            }
        }
        return n;
    }

    /**
     * Nothing to wait for: no unread input, nothing queued to send, no handler running, and its first
     * pass (onConnect) has run: a connection onPrepare is still preparing, or whose onConnect has not
     * run yet, is waited for, so onDisconnect never comes before them.
     */
    private static boolean isIdle(NetConnection c) {
        return c.inputLen() == 0 && c.sender().idle() && !c.requestBusy() && !c.firstPassPending();
    }

    /** Waits for the first shutdown's report; an interrupt does not end the wait (the first call ends with its grace) and stays set. */
    private ShutdownReport awaitReport() {
        boolean interrupted = false;
        try {
            for (;;) {
                try {
                    return outcome.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException("the first shutdown failed", e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Options; {@link #onRequest} is required. */
    public static final class Builder {
        private OnRequest onRequest;
        private OnPrepare onPrepare;
        private OnConnect onConnect;
        private OnDisconnect onDisconnect;
        private long readTimeout;
        private long writeTimeout;
        private long idleTimeout;
        private int pollers = PollerGroup.defaultSize();
        private LoadBalance balance = LoadBalance.ROUND_ROBIN;
        private Executor executor;
        private int maxInputBytes = ConnConfig.DEFAULT_MAX_INPUT;
        private long writeQueueLimit;
        private BufferPool pool = BufferPool.defaultPool();

        private Builder() {
        }

        /** The handler, run while a connection has unread input (required); see {@link OnRequest} for the rule. */
        public Builder onRequest(OnRequest h) {
            this.onRequest = h;
            return this;
        }

        /** Runs first for each new connection, on the accepting thread: set timeouts, attach state. */
        public Builder onPrepare(OnPrepare h) {
            this.onPrepare = h;
            return this;
        }

        /** Runs once for each connection before its first {@link OnRequest}; it may write a greeting. */
        public Builder onConnect(OnConnect h) {
            this.onConnect = h;
            return this;
        }

        /** Runs once when a connection closes, by either side; see {@link OnDisconnect}. */
        public Builder onDisconnect(OnDisconnect h) {
            this.onDisconnect = h;
            return this;
        }

        /** Bounds each wait for input in a handler; {@link io.netpoll.error.ReadTimeoutException} after. */
        public Builder readTimeout(Duration d) {
            this.readTimeout = positive(d, "readTimeout");
            return this;
        }

        /** Bounds each wait of {@code flush()} for the socket; {@link io.netpoll.error.WriteTimeoutException} after. */
        public Builder writeTimeout(Duration d) {
            this.writeTimeout = positive(d, "writeTimeout");
            return this;
        }

        /** Closes connections with no traffic in either direction for this long. */
        public Builder idleTimeout(Duration d) {
            this.idleTimeout = positive(d, "idleTimeout");
            return this;
        }

        /** Connection pollers (default {@link PollerGroup#defaultSize()}); one more thread accepts. */
        public Builder pollers(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("pollers must be at least 1: " + n);
            }
            this.pollers = n;
            return this;
        }

        /** How accepted connections are spread over the pollers (default round robin). */
        public Builder loadBalance(LoadBalance lb) {
            this.balance = java.util.Objects.requireNonNull(lb);
            return this;
        }

        /**
         * Where handlers run (default: a bounded pool the loop owns and stops at shutdown); see
         * {@link HandlerExecutors}, which also says what a task your executor refuses costs. An
         * executor you give is yours: the shutdown neither stops it nor interrupts its threads.
         */
        public Builder executor(Executor e) {
            this.executor = java.util.Objects.requireNonNull(e);
            return this;
        }

        /** Read backpressure: reading pauses while this many bytes wait unread (default 4 MiB). */
        public Builder maxInputBytes(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxInputBytes must be positive: " + n);
            }
            this.maxInputBytes = n;
            return this;
        }

        /** Write backpressure: {@code flush()} returns once at most this many bytes stay queued (default 0). */
        public Builder writeQueueLimit(long n) {
            if (n < 0) {
                throw new IllegalArgumentException("writeQueueLimit must not be negative: " + n);
            }
            this.writeQueueLimit = n;
            return this;
        }

        /** Where the connections' buffers take memory from (default {@link BufferPool#defaultPool()}). */
        public Builder bufferPool(BufferPool p) {
            this.pool = java.util.Objects.requireNonNull(p);
            return this;
        }

        private static long positive(Duration d, String what) {
            if (d == null || d.isZero()) {
                return 0;
            }
            if (d.isNegative()) {
                throw new IllegalArgumentException(what + " must not be negative: " + d);
            }
            return Deadlines.timeoutNanos(d); // one too long to count in nanoseconds is none
        }

        /**
         * The event loop, not serving yet ({@link EventLoop#serve} starts it). Throws
         * {@link IllegalArgumentException} without {@link #onRequest}.
         */
        public EventLoop build() {
            if (onRequest == null) {
                throw new IllegalArgumentException("onRequest is required");
            }
            return new EventLoop(this);
        }
    }
}
