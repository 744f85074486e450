package io.netpoll.conn;

import io.netpoll.CloseCallback;
import io.netpoll.Connection;
import io.netpoll.OnRequest;
import io.netpoll.buffer.LinkBuffer;
import io.netpoll.buffer.Reader;
import io.netpoll.buffer.Writer;
import io.netpoll.error.ConnectionClosedException;
import io.netpoll.error.IdleTimeoutException;
import io.netpoll.error.SyscallException;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.Poller;
import io.netpoll.sys.Errno;
import io.netpoll.sys.LibC;
import io.netpoll.sys.Linux;
import io.netpoll.sys.NativeBuffer;
import io.netpoll.sys.Sockets;
import io.netpoll.sys.Sys;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;

/**
 * The connection: an fd registered with one poller, an input {@link LinkBuffer} the poller reads
 * into, an output {@link LinkBuffer} the application writes into, and the state words that let the
 * poller thread and application threads share them safely.
 *
 * <p>This class is the implementation behind {@link Connection}; its public methods beyond that
 * interface ({@link #input()}, {@link #pollDesc()}, ...) are for the coroutines module and are not
 * part of the stable API.
 *
 * <p><b>Reading.</b> On every EPOLLIN edge the poller {@code readv}s into freshly booked input
 * memory (sized by {@link ReadSizer}: 8 KiB at first, doubling while reads fill the booking, up to
 * 1 MiB, halving after two small reads in a row) until a read comes back
 * short (the socket is drained, and edge-triggering guarantees a new event for new bytes; but once an
 * event reported the peer's FIN or an error, until EAGAIN, EOF or the error, since no later edge will
 * announce them), then wakes
 * whoever waits in {@link PollDesc#rg} and triggers {@code onRequest}. It pauses while the input holds
 * {@link ConnConfig#maxInputBytes()} unread bytes, or while queued output is over the limit on a
 * connection whose handlers cannot wait, and resumes when the application catches up; a socket error
 * (a reset) that arrives meanwhile closes the connection at once, as the read would have.
 *
 * <p><b>Lifetime</b> is one state word, {@link #users}, as Go's {@code fdMutex}: every operation
 * that touches the fd or the buffers (an application call, a poller read or send round) enters
 * and leaves it; {@link #close} sets the CLOSED bit, after which nobody can enter, and shuts the
 * socket down at once (the peer sees the close even while a handler is still inside); whoever leaves
 * last (or close itself, when nobody is inside) destroys the connection: closes the fd, frees both
 * buffers and runs the close callbacks. So memory is never freed under a running call, and the fd number is
 * never reused while a call might still use it.
 */
public final class NetConnection implements Connection, PollDesc.Handler {
    private static final System.Logger LOG = System.getLogger("io.netpoll.conn");
    private static final VarHandle USERS;
    private static final VarHandle CAUSE;
    /** closeCause of a normal close: distinguishes "closed normally" from "no cause recorded yet". */
    private static final Throwable NORMAL_CLOSE = new Throwable("closed normally", null, false, false) { };

    static {
        try {
            USERS = MethodHandles.lookup().findVarHandle(NetConnection.class, "users", int.class);
            CAUSE = MethodHandles.lookup().findVarHandle(NetConnection.class, "closeCause", Throwable.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /*
     * users: CLOSED bit | count of operations inside.
     *   count +1  enter(): any thread, only while CLOSED is clear (CAS)
     *   count -1  leave(): the thread that entered; the one that makes the word exactly CLOSED destroys
     *   CLOSED    close(): the first closer (CAS), itself entered for the duration; if others are
     *             inside it shuts the socket down (the fd stays open until destroy), then it leaves,
     *             destroying at once when nobody else was inside
     * The word never goes back: once CLOSED, enter() fails forever, and CLOSED with a zero count
     * happens exactly once. A negative count is impossible and throws.
     * enterCall() nested in the poller's read round (see pollerInside) only reads the CLOSED bit: the
     * round's own count keeps the connection alive until every call inside it has returned.
     */
    private static final int CLOSED = 1 << 30;
    private static final int COUNT = CLOSED - 1;

    /** Reads per readiness event before yielding to other connections on the poller. */
    private static final int MAX_READ_ROUNDS = 16;

    /* pause bits (poller thread writes; app threads read): why reading stopped. */
    static final int PAUSE_INPUT_FULL = 1;
    static final int PAUSE_OUTPUT_FULL = 2;

    final int fd;
    final Poller poller;
    final PollDesc pd;
    final LinkBuffer input;
    final LinkBuffer output;
    final ConnConfig config;
    final boolean tcp;
    private final LibC libc = Sys.libc();
    private final ConnReader reader;
    private final ConnReader bufferedReader;
    private final ConnWriter writer;
    final Sender sender;
    final RequestRunner runner;

    @SuppressWarnings("unused") private volatile int users;
    /**
     * This connection's poller thread while it is inside a read round ({@link #readReady}, which holds
     * a counted enter for it) or a handler pass queued to the poller ({@link #inRound}), else null. Calls it makes meanwhile, inline handlers included, enter
     * through {@link #enterCall} for free: they cannot outlive the round's own enter. Written only by
     * the poller thread, so no other thread ever finds its own identity here.
     */
    private Thread pollerInside;
    private volatile Throwable closeCause;
    private volatile boolean inputEof;
    volatile int pauseBits;
    /** Bytes a blocked reader needs (0: any): reading goes on past the input cap up to this. */
    volatile int waitSize;
    private volatile boolean resumeQueued;
    private volatile Object attachment;

    volatile long readTimeoutNanos;
    volatile long writeTimeoutNanos;
    volatile long idleTimeoutNanos;
    /** Absolute System.nanoTime() deadlines, 0 = none. */
    volatile long readDeadline;
    volatile long writeDeadline;
    volatile long lastActivity;

    // poller thread only
    /** {@link ReadSizer}'s state: the next read's booking and the small reads before it. */
    private int readSize = ReadSizer.INITIAL;
    private boolean readPending;
    private boolean idleArmed;
    /*
     * A short read proves the socket drained only while the peer is still sending: once an event
     * reported its FIN or an error (EPOLLRDHUP/HUP/ERR), that edge may be the very one being handled
     * and no other will come, so reads go on until EAGAIN, EOF or the error. Set for good.
     */
    private boolean peerClosing;
    /* Set by adopt() until the first EAGAIN, EOF or error: the dialer consumed the earlier events. */
    private boolean eventsUnknown;

    private final ArrayDeque<CloseCallback> closeCallbacks = new ArrayDeque<>(2);
    private boolean callbacksRan;
    private SocketAddress local;
    private SocketAddress remote;

    /**
     * Wraps a connected, non-blocking socket {@code fd} for {@code poller}; call {@link #start()} to
     * register it. {@code tcp} is false for unix-domain sockets.
     */
    public NetConnection(int fd, Poller poller, ConnConfig config, boolean tcp) {
        this(fd, poller, config, tcp, null);
    }

    /**
     * As above, taking over {@code registered}, a descriptor of {@code fd} already added to
     * {@code poller} (a dialed socket); call {@link #adopt()} instead of {@link #start()}.
     */
    public NetConnection(int fd, Poller poller, ConnConfig config, boolean tcp, PollDesc registered) {
        this.fd = fd;
        this.poller = poller;
        this.config = config;
        this.tcp = tcp;
        this.pd = registered != null ? registered : poller.newDesc(fd, this);
        this.input = new LinkBuffer(config.pool());
        this.output = new LinkBuffer(config.pool());
        this.readTimeoutNanos = config.readTimeoutNanos();
        this.writeTimeoutNanos = config.writeTimeoutNanos();
        this.idleTimeoutNanos = config.idleTimeoutNanos();
        this.lastActivity = System.nanoTime();
        this.sender = new Sender(this);
        this.runner = new RequestRunner(this, config.onConnect(), config.onRequest());
        this.reader = new ConnReader(this, true);
        this.bufferedReader = new ConnReader(this, false);
        this.writer = new ConnWriter(this);
    }

    /**
     * Registers the socket with the poller (from any thread), then starts {@code onConnect} /
     * {@code onRequest} processing and the idle timer. On failure the connection is closed.
     */
    public void start() {
        try {
            poller.add(pd);
        } catch (SyscallException e) {
            closeWith(e);
            return;
        }
        runner.start();
        if (idleTimeoutNanos > 0) {
            poller.execute(this::armIdle);
        }
    }

    /**
     * Like {@link #start()} for a descriptor that was already registered (a dialed socket): takes
     * its events over and reads whatever arrived meanwhile.
     */
    public void adopt() {
        pd.setHandler(this);
        runner.start();
        poller.execute(() -> {
            eventsUnknown = true;
            readReady();
            if (idleTimeoutNanos > 0) {
                armIdle();
            }
        });
    }

    // ------------------------------------------------------------------------------ users word

    /** Enters the connection; false once it is closed. */
    public boolean enter() {
        for (;;) {
            int u = (int) USERS.getVolatile(this);
            if ((u & CLOSED) != 0) {
                return false;
            }
            if (USERS.compareAndSet(this, u, u + 1)) {
                return true;
            }
        }
    }

    /** {@link #enterCall}: the connection is closed; nothing was entered. */
    public static final int NOT_ENTERED = 0;
    /** {@link #enterCall}: a counted enter; {@link #leaveCall} leaves it. */
    public static final int ENTERED = 1;
    /** {@link #enterCall}: nested in the poller's read round; nothing to leave. */
    public static final int NESTED = 2;

    /**
     * {@link #enter()} for a call that returns before its caller does (it never suspends or parks
     * across it): free when the poller thread is already inside this connection for a read round,
     * which is where inline handlers run. Returns {@link #NOT_ENTERED} when closed (as {@code enter()}
     * returns false), else a token for {@link #leaveCall}.
     */
    public int enterCall() {
        if (pollerInside == Thread.currentThread()) {
            return isActive() ? NESTED : NOT_ENTERED;
        }
        return enter() ? ENTERED : NOT_ENTERED;
    }

    /** {@link #enterCall}, or the closed error. */
    public int enterCallOrThrow() throws ConnectionClosedException {
        int t = enterCall();
        if (t == NOT_ENTERED) {
            throw closedError();
        }
        return t;
    }

    /** Leaves what {@link #enterCall} returned. */
    public void leaveCall(int token) {
        if (token == ENTERED) {
            leave();
        }
    }

    /** Enters for an application call, or throws the closed error. */
    public void enterOrThrow() throws ConnectionClosedException {
        if (!enter()) {
            throw closedError();
        }
    }

    /** Leaves after {@link #enter()}; the last one out of a closed connection destroys it. */
    public void leave() {
        int u = (int) USERS.getAndAdd(this, -1) - 1;
        if (u == CLOSED) {
            destroy();
        } else if ((u & COUNT) == COUNT) {
            throw new IllegalStateException("connection left more often than entered");
        }
    }

    public ConnectionClosedException closedError() {
        return new ConnectionClosedException(closeCause());
    }

    @Override
    public boolean isActive() {
        return ((int) USERS.getVolatile(this) & CLOSED) == 0;
    }

    @Override
    public Throwable closeCause() {
        Throwable c = closeCause;
        return c == NORMAL_CLOSE ? null : c;
    }

    @Override
    public void close() {
        closeWith(null);
    }

    /** Closes with {@code cause} (null: normal); only the first close counts. */
    public void closeWith(Throwable cause) {
        if (!enter()) {
            return; // closed already
        }
        try {
            // the cause is recorded before CLOSED becomes visible, so whoever sees CLOSED sees it too
            CAUSE.compareAndSet(this, null, cause == null ? NORMAL_CLOSE : cause);
            int u;
            do {
                u = (int) USERS.getVolatile(this);
                if ((u & CLOSED) != 0) {
                    return; // another closer won
                }
            } while (!USERS.compareAndSet(this, u, u | CLOSED));
            if (cause != null) {
                LOG.log(System.Logger.Level.DEBUG, () -> "closing fd " + fd + ": " + cause);
            }
            pd.close(); // unregisters and wakes every waiter in rg / wg (they see the CLOSED bit)
            sender.closed();
            if (config.onDisconnect() != null) {
                runOnExecutor(() -> config.onDisconnect().onDisconnect(this));
            }
            if ((u & COUNT) > 1) {
                // Others are inside (a handler may stay busy in its own code for long): the fd must
                // stay open until the last one leaves, but the peer sees the close now. Our own entry
                // keeps the fd number from being closed and reused under this call.
                try {
                    Sockets.shutdown(fd, Linux.SHUT_RDWR);
                } catch (SyscallException ignored) {
                    // not connected any more: nothing to tell the peer
                }
            }
        } finally {
            leave(); // the last one out (maybe this) destroys
        }
    }

    /** Exactly once: nobody is inside and nobody can enter. */
    private void destroy() {
        Sockets.close(fd);
        input.close();
        output.close();
        CloseCallback[] cbs;
        synchronized (closeCallbacks) {
            callbacksRan = true;
            cbs = closeCallbacks.toArray(new CloseCallback[0]);
            closeCallbacks.clear();
        }
        if (cbs.length > 0) {
            runOnExecutor(() -> {
                for (CloseCallback cb : cbs) {
                    try {
                        cb.onClose(this);
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.ERROR, "close callback failed", e);
                    }
                }
            });
        }
    }

    void runOnExecutor(Runnable task) {
        try {
            config.executor().execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, "callback failed", e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            task.run();
        }
    }

    @Override
    public void addCloseCallback(CloseCallback callback) {
        boolean now;
        synchronized (closeCallbacks) {
            now = callbacksRan;
            if (!now) {
                closeCallbacks.addFirst(callback); // newest first
            }
        }
        if (now) {
            runOnExecutor(() -> callback.onClose(this));
        }
    }

    // ------------------------------------------------------------------------------ poller side

    @Override
    public void onEvents(PollDesc pd, int events) {
        if ((events & (Linux.EPOLLOUT | Linux.EPOLLERR | Linux.EPOLLHUP)) != 0) {
            pd.wg.unblockAndWake(true);
        }
        if ((events & (Linux.EPOLLRDHUP | Linux.EPOLLERR | Linux.EPOLLHUP)) != 0) {
            peerClosing = true;
        }
        if ((events & Linux.EPOLLERR) != 0 && pauseBits != 0) {
            socketFailedWhilePaused();
        }
        if ((events & (Linux.EPOLLIN | Linux.EPOLLRDHUP | Linux.EPOLLERR | Linux.EPOLLHUP)) != 0) {
            readReady();
        }
    }

    @Override
    public void onPollerClosed(PollDesc pd) {
        closeWith(new ConnectionClosedException());
    }

    /**
     * Poller thread: an error (a reset) arrived while reading is paused, so no read will report it and
     * the connection would linger until the application consumes: take the error and close now, as a
     * read would have.
     */
    private void socketFailedWhilePaused() {
        if (!enter()) {
            return;
        }
        try {
            int err = Sockets.pendingError(fd);
            if (err != 0) {
                closeWith(Errno.exception("read", err));
            }
        } catch (SyscallException e) {
            closeWith(e);
        } finally {
            leave();
        }
    }

    /** Poller thread: the socket is readable (or was, while reading was paused). */
    void readReady() {
        if (pauseBits != 0) {
            readPending = true;
            return;
        }
        readPending = false;
        if (!enter()) {
            return;
        }
        Thread outer = beginRound();
        try {
            readLoop();
        } finally {
            endRound(outer);
        }
    }

    /**
     * Poller thread: runs {@code pass} as if inside a read round (counted enter, {@link #pollerInside}
     * set), so that a handler pass queued to the poller (the first one, or one triggered from another
     * thread) makes its calls through {@link #enterCall} for free, exactly as one run from the read
     * round does. Closed: runs it without entering (it finds the connection closed itself). Public
     * for netpoll's coroutine layer, which starts a handler coroutine this way.
     */
    public void inRound(Runnable pass) {
        if (!enter()) {
            pass.run();
            return;
        }
        Thread outer = beginRound();
        try {
            pass.run();
        } finally {
            endRound(outer);
        }
    }

    /** After a counted enter on the poller thread: marks the round; returns the outer round's mark (null, or this thread when nested). */
    private Thread beginRound() {
        Thread outer = pollerInside;
        pollerInside = Thread.currentThread();
        return outer;
    }

    /** Ends a round begun by {@link #beginRound}: restores the outer mark, then leaves. */
    private void endRound(Thread outer) {
        pollerInside = outer;
        leave();
    }

    private void readLoop() {
        NativeBuffer iov = poller.iovScratch();
        for (int round = 0; ; round++) {
            int cap = inputCap();
            if (input.len() >= cap) {
                pause(PAUSE_INPUT_FULL);
                // The application may have consumed between the check and the pause, and then not
                // seen the pause: look again, after a fence (the consumed count is a release store, its
                // read an acquire load); with the fence in consumedInput, one side sees the other.
                VarHandle.fullFence();
                if (input.len() >= inputCap()) {
                    readPending = true;
                    return;
                }
                pauseBits &= ~PAUSE_INPUT_FULL;
                continue;
            }
            int count = input.book(ReadSizer.size(readSize), iov.buffer(), Poller.IOV_SCRATCH_ENTRIES);
            long booked = 0;
            for (int i = 0; i < count; i++) {
                booked += iov.getLong(i * 16 + 8);
            }
            // one buffer (the usual case): read(2), which spares the kernel importing an iovec array
            long n = count == 1 ? libc.read(fd, iov.getLong(0), booked) : libc.readv(fd, iov.address(), count);
            if (n > 0) {
                input.bookAck((int) n);
                if (idleTimeoutNanos > 0) {
                    lastActivity = poller.loopTime();
                }
                readSize = ReadSizer.record(readSize, booked, n);
                pd.rg.unblockAndWake(true);
                runner.trigger();
                if (n < booked && !peerClosing && !eventsUnknown) {
                    return; // drained: the next byte brings a new edge
                }
                if (round + 1 >= MAX_READ_ROUNDS) {
                    poller.execute(this::readReady); // let other connections on this poller run
                    return;
                }
            } else {
                input.bookAck(0);
                eventsUnknown = false;
                if (n == 0) {
                    peerFinished();
                } else if (n != -Errno.EAGAIN) {
                    closeWith(Errno.exception("read", (int) -n));
                }
                return;
            }
        }
    }

    private void peerFinished() {
        if (inputEof) {
            return;
        }
        inputEof = true;
        pd.rg.unblockAndWake(true);
        runner.trigger();
        if (config.onRequest() == null && runner.handler() == null) {
            return; // the application owns the connection and decides when to close
        }
        runner.closeWhenDrained();
    }

    /** Poller thread: stop reading for {@code reason}. */
    void pause(int reason) {
        pauseBits |= reason;
    }

    /** Poller thread: {@code reason} no longer holds; read what arrived meanwhile. */
    void resume(int reason) {
        pauseBits &= ~reason;
        if (pauseBits == 0 && readPending) {
            readReady();
        }
    }

    /** Application thread: it consumed input; resume reading if it was paused for a full input. */
    public void consumedInput() {
        if (!poller.inEventLoop()) {
            // the bytes consumed (a release store in the buffer) before the pause is read: pairs with
            // the poller's re-check after pausing in readLoop, so a pause is never missed by both
            VarHandle.fullFence();
        }
        if ((pauseBits & PAUSE_INPUT_FULL) != 0 && !resumeQueued
                && input.len() < inputCap()) {
            resumeQueued = true;
            Runnable r = () -> {
                resumeQueued = false;
                if (inputLen() < inputCap()) {
                    resume(PAUSE_INPUT_FULL);
                }
            };
            if (poller.inEventLoop()) {
                r.run();
            } else {
                poller.execute(r);
            }
        }
    }

    /** Unread input at which reading pauses: maxInputBytes, or more while a reader needs more. */
    int inputCap() {
        return Math.max(config.maxInputBytes(), waitSize);
    }

    /** Application thread: a reader now needs {@code n} bytes, maybe past the input cap; 0 when done waiting. */
    public void needInput(int n) {
        waitSize = n;
        // a reader about to wait resumes a paused input that is below the cap now: consumed meanwhile
        // (copying reads release nothing) or needed past the cap
        consumedInput();
    }

    // ------------------------------------------------------------------------------ idle timeout

    private void armIdle() {
        if (idleArmed || idleTimeoutNanos <= 0 || !isActive()) {
            return;
        }
        idleArmed = true;
        poller.schedule(lastActivity + idleTimeoutNanos, this::idleCheck);
    }

    private void idleCheck() {
        idleArmed = false;
        long idle = idleTimeoutNanos;
        if (idle <= 0 || !isActive()) {
            return;
        }
        long due = lastActivity + idle;
        if (System.nanoTime() - due >= 0) {
            closeWith(new IdleTimeoutException());
        } else {
            idleArmed = true;
            poller.schedule(due, this::idleCheck);
        }
    }

    // ------------------------------------------------------------------------------ API

    @Override
    public Reader reader() {
        return reader;
    }

    @Override
    public Writer writer() {
        return writer;
    }

    /**
     * The input as a {@link Reader} that never waits: it serves what is buffered and throws
     * {@link io.netpoll.error.EofException} for more (for suspending callers, which wait first).
     */
    public Reader bufferedReader() {
        return bufferedReader;
    }

    /** The absolute read deadline (nanoTime), 0 = none. */
    public long readDeadlineNanos() {
        return readDeadline;
    }

    /** The absolute write deadline (nanoTime), 0 = none. */
    public long writeDeadlineNanos() {
        return writeDeadline;
    }

    public long readTimeoutNanos() {
        return readTimeoutNanos;
    }

    public long writeTimeoutNanos() {
        return writeTimeoutNanos;
    }

    public long idleTimeoutNanos() {
        return idleTimeoutNanos;
    }

    @Override
    public void setOnRequest(OnRequest handler) {
        runner.setHandler(handler);
    }

    private static long nanos(Duration d) {
        return d == null || d.isNegative() ? 0 : d.toNanos();
    }

    private static long deadlineNanos(Instant deadline) {
        if (deadline == null) {
            return 0;
        }
        long fromNow = Duration.between(Instant.now(), deadline).toNanos();
        long d = System.nanoTime() + fromNow;
        return d == 0 ? 1 : d;
    }

    @Override
    public void setReadTimeout(Duration timeout) {
        readTimeoutNanos = nanos(timeout);
    }

    @Override
    public void setWriteTimeout(Duration timeout) {
        writeTimeoutNanos = nanos(timeout);
    }

    @Override
    public void setIdleTimeout(Duration timeout) {
        // traffic is stamped only while an idle timeout is set: the idle time counts from here
        lastActivity = System.nanoTime();
        idleTimeoutNanos = nanos(timeout);
        poller.execute(this::armIdle);
    }

    @Override
    public void setReadDeadline(Instant deadline) {
        setReadDeadlineNanos(deadlineNanos(deadline));
    }

    @Override
    public void setWriteDeadline(Instant deadline) {
        setWriteDeadlineNanos(deadlineNanos(deadline));
    }

    /** Absolute {@link System#nanoTime()} read deadline, 0 = none; wakes a waiting reader if past. */
    public void setReadDeadlineNanos(long deadline) {
        readDeadline = deadline;
        pd.setDeadline(PollDesc.READ, deadline);
    }

    /** Absolute {@link System#nanoTime()} write deadline, 0 = none; wakes a waiting writer if past. */
    public void setWriteDeadlineNanos(long deadline) {
        writeDeadline = deadline;
        sender.deadlineChanged();
    }

    /** The deadline for the next read wait: the absolute one or now + read timeout, whichever is first. */
    public long readWaitDeadline() {
        return earliest(readDeadline, readTimeoutNanos);
    }

    /** The deadline for the next write wait, as {@link #readWaitDeadline()}. */
    public long writeWaitDeadline() {
        return earliest(writeDeadline, writeTimeoutNanos);
    }

    private static long earliest(long absolute, long timeout) {
        if (timeout <= 0) {
            return absolute;
        }
        long rel = System.nanoTime() + timeout;
        if (rel == 0) {
            rel = 1;
        }
        return absolute == 0 || rel - absolute < 0 ? rel : absolute;
    }

    @Override
    public synchronized SocketAddress localAddress() {
        if (local == null && isActive()) {
            try {
                local = Sockets.localAddress(fd);
            } catch (SyscallException e) {
                return null;
            }
        }
        return local;
    }

    @Override
    public synchronized SocketAddress remoteAddress() {
        if (remote == null && isActive()) {
            try {
                remote = Sockets.remoteAddress(fd);
            } catch (SyscallException e) {
                return null;
            }
        }
        return remote;
    }

    @Override
    public void shutdownOutput() throws java.io.IOException {
        enterOrThrow();
        try {
            writer.flush();
            Sockets.shutdown(fd, Linux.SHUT_WR);
        } finally {
            leave();
        }
    }

    @Override
    public InputStream inputStream() {
        return new ConnStreams.In(this);
    }

    @Override
    public OutputStream outputStream() {
        return new ConnStreams.Out(this);
    }

    @Override
    public Object attachment() {
        return attachment;
    }

    @Override
    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    // ------------------------------------------------------------------------------ internals

    /** The input buffer (the poller writes, one application thread reads). */
    public LinkBuffer input() {
        return input;
    }

    /** The output buffer (one application thread writes; the sender reads). */
    public LinkBuffer output() {
        return output;
    }

    public PollDesc pollDesc() {
        return pd;
    }

    public Poller poller() {
        return poller;
    }

    public int fd() {
        return fd;
    }

    public Sender sender() {
        return sender;
    }

    public ConnConfig config() {
        return config;
    }

    /** Unread input bytes; 0 once the connection is destroyed. Safe from any thread. */
    public int inputLen() {
        return bufferLen(input);
    }

    /** Output bytes flushed but not yet sent; 0 once the connection is destroyed. Safe from any thread. */
    public int queuedOutput() {
        return bufferLen(output);
    }

    private static int bufferLen(LinkBuffer b) {
        try {
            return b.isClosed() ? 0 : b.len();
        } catch (IllegalStateException closedMeanwhile) {
            return 0;
        }
    }

    /** True while an onConnect/onRequest pass is running or scheduled. */
    public boolean requestBusy() {
        return runner.busy();
    }

    /** True once the peer finished sending and the poller read its FIN. */
    public boolean inputEof() {
        return inputEof;
    }

    /** Stamps application-side traffic for the idle timeout (nothing to stamp without one). */
    void activity() {
        if (idleTimeoutNanos > 0) {
            lastActivity = poller.inEventLoop() ? poller.loopTime() : System.nanoTime();
        }
    }

    @Override
    public String toString() {
        return "NetConnection[fd=" + fd + (isActive() ? "" : " closed") + (inputEof ? " eof" : "") + "]";
    }
}
