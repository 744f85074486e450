package io.netpoll.conn;

import io.netpoll.CloseCallback;
import io.netpoll.Connection;
import io.netpoll.buffer.LinkBuffer;
import io.netpoll.error.ConnectionClosedException;
import io.netpoll.error.SyscallException;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.Poller;
import io.netpoll.sys.Linux;
import io.netpoll.sys.Sockets;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;

/**
 * The base of {@link NetConnection}: what a connection is made of (its fd, the poller and poll
 * descriptor it is registered with, its input and output {@link LinkBuffer}s, its config and its
 * {@link Sender}) and how long those live.
 *
 * <p><b>Lifetime</b> is one state word, {@link UsersWord}, as Go's {@code fdMutex}: every operation
 * that touches the fd or the buffers (an application call, a poller read or send round) enters
 * and leaves it; {@link #close} sets the CLOSED bit, after which nobody can enter, and shuts the
 * socket down at once (the peer sees the close even while a handler is still inside); whoever leaves
 * last (or close itself, when nobody is inside) destroys the connection: closes the fd, frees both
 * buffers and runs the close callbacks. So memory is never freed under a running call, and the fd number is
 * never reused while a call might still use it.
 *
 * <p>The poller thread holds one counted enter for each read round, and for each handler pass queued
 * to it ({@link #inRound}); calls made inside either enter through {@link #enterCall} for free.
 *
 * <p>One link of {@link NetConnection}'s class chain (see there), the first after the word.
 */
public abstract sealed class ConnLifetime extends UsersWord implements Connection, PollDesc.Handler permits ConnTimeouts {
    private static final System.Logger LOG = System.getLogger("io.netpoll.conn");
    private static final VarHandle CAUSE;
    /** closeCause of a normal close: distinguishes "closed normally" from "no cause recorded yet". */
    private static final Throwable NORMAL_CLOSE = new Throwable("closed normally", null, false, false) { };

    static {
        try {
            CAUSE = MethodHandles.lookup().findVarHandle(ConnLifetime.class, "closeCause", Throwable.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int fd;
    final Poller poller;
    final PollDesc pd;
    final LinkBuffer input;
    final LinkBuffer output;
    final ConnConfig config;
    final Sender sender;

    /**
     * This connection's poller thread while it is inside a read round ({@link ConnReadSide#readReady}, which holds
     * a counted enter for it) or a handler pass queued to the poller ({@link #inRound}), else null. Calls it makes meanwhile, inline handlers included, enter
     * through {@link #enterCall} for free (it only reads the word's CLOSED bit): they cannot outlive
     * the round's own enter. Written only by
     * the poller thread, so no other thread ever finds its own identity here.
     */
    private Thread pollerInside;
    private volatile Throwable closeCause;

    private final ArrayDeque<CloseCallback> closeCallbacks = new ArrayDeque<>(2);
    /*
     * Guarded by closeCallbacks. closeSteps: 0 → +1 by closeWith when there is an onDisconnect to
     * run; -1 when it has run and -1 by destroy; the step that brings it to -1 sets callbacksRan
     * (false → true, once) and runs the callbacks added until then; later ones run at once.
     */
    private boolean callbacksRan;
    private int closeSteps;

    /** See {@link NetConnection}'s constructors; {@code registered} may be null. */
    ConnLifetime(int fd, Poller poller, ConnConfig config, PollDesc registered) {
        this.fd = fd;
        this.poller = poller;
        this.config = config;
        this.pd = registered != null ? registered : poller.newDesc(fd, this);
        this.input = new LinkBuffer(config.pool());
        this.output = new LinkBuffer(config.pool());
        this.sender = new Sender((NetConnection) this);
    }

    // ------------------------------------------------------------------------------ entering

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
    public final int enterCall() {
        if (pollerInside == Thread.currentThread()) {
            return isActive() ? NESTED : NOT_ENTERED;
        }
        return enter() ? ENTERED : NOT_ENTERED;
    }

    /** {@link #enterCall}, or the closed error. */
    public final int enterCallOrThrow() throws ConnectionClosedException {
        int t = enterCall();
        if (t == NOT_ENTERED) {
            throw closedError();
        }
        return t;
    }

    /** Leaves what {@link #enterCall} returned. */
    public final void leaveCall(int token) {
        if (token == ENTERED) {
            leave();
        }
    }

    /** Enters for an application call, or throws the closed error. */
    public final void enterOrThrow() throws ConnectionClosedException {
        if (!enter()) {
            throw closedError();
        }
    }

    public final ConnectionClosedException closedError() {
        return new ConnectionClosedException(closeCause());
    }

    @Override
    public final Throwable closeCause() {
        Throwable c = closeCause;
        return c == NORMAL_CLOSE ? null : c;
    }

    @Override
    public final void close() {
        closeWith(null);
    }

    /** Closes with {@code cause} (null: normal); only the first close counts. */
    public final void closeWith(Throwable cause) {
        if (!enter()) {
            return; // closed already
        }
        try {
            // the cause is recorded before CLOSED becomes visible, so whoever sees CLOSED sees it too
            CAUSE.compareAndSet(this, null, cause == null ? NORMAL_CLOSE : cause);
            int others = markClosed();
            if (others < 0) {
                return; // another closer won
            }
            if (cause != null) {
                LOG.log(System.Logger.Level.DEBUG, () -> "closing fd " + fd + ": " + cause);
            }
            pd.close(); // unregisters and wakes every waiter in rg / wg (they see the CLOSED bit)
            disarmIdle();
            sender.closed();
            if (config.onDisconnect() != null) {
                synchronized (closeCallbacks) {
                    closeSteps++; // the close callbacks wait for it (destroy cannot run before our leave)
                }
                runOnExecutor(() -> {
                    try {
                        config.onDisconnect().onDisconnect(this);
                    } finally {
                        closeStepDone();
                    }
                }); // runs once, here if not on the executor: the step always ends
            }
            if (others > 0) {
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

    /** Once closed (any thread): drops the idle timer, so the wheel does not keep the connection. */
    abstract void disarmIdle();

    /** Exactly once: nobody is inside and nobody can enter. */
    @Override
    final void destroy() {
        Sockets.close(fd);
        input.close();
        output.close();
        closeStepDone();
    }

    /**
     * A step before the close callbacks is done (the destroy, and onDisconnect if there is one): the
     * last one runs them, so they come after onDisconnect, as its documentation says, even on a pool.
     */
    private void closeStepDone() {
        CloseCallback[] cbs;
        synchronized (closeCallbacks) {
            if (--closeSteps != -1) {
                return;
            }
            callbacksRan = true;
            cbs = closeCallbacks.toArray(new CloseCallback[0]);
            closeCallbacks.clear();
        }
        if (cbs.length > 0) {
            runOnExecutor(() -> {
                for (CloseCallback cb : cbs) {
                    try {
                        cb.onClose(this);
                    } catch (Throwable e) {
                        // one failing callback must not keep the older ones (an event loop's count) from running
                        LOG.log(System.Logger.Level.ERROR, "close callback failed", e);
                    }
                }
            });
        }
    }

    /**
     * Runs a callback on the handler executor, logging what it throws. If the executor refuses it, or
     * cannot run anything (no thread for it), it runs here: a callback is never lost.
     */
    final void runOnExecutor(Runnable task) {
        java.util.concurrent.atomic.AtomicBoolean ran = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable guarded = () -> {
            if (!ran.compareAndSet(false, true)) {
                return; // an executor that queued it and then threw: it runs here and there, once
            }
            try {
                task.run();
            } catch (Throwable e) {
                LOG.log(System.Logger.Level.ERROR, "callback failed", e);
            }
        };
        try {
            config.executor().execute(guarded);
        } catch (Throwable e) {
            guarded.run();
        }
    }

    @Override
    public final void addCloseCallback(CloseCallback callback) {
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

    /** Unread input bytes; 0 once the connection is destroyed. Safe from any thread. */
    public final int inputLen() {
        return bufferLen(input);
    }

    /** Output bytes flushed but not yet sent; 0 once the connection is destroyed. Safe from any thread. */
    public final int queuedOutput() {
        return bufferLen(output);
    }

    private static int bufferLen(LinkBuffer b) {
        try {
            return b.isClosed() ? 0 : b.len();
        } catch (IllegalStateException closedMeanwhile) {
            return 0;
        }
    }

    // ------------------------------------------------------------------------------ rounds

    /**
     * Poller thread: runs {@code pass} as if inside a read round (counted enter, {@link #pollerInside}
     * set), so that a handler pass queued to the poller (the first one, or one triggered from another
     * thread) makes its calls through {@link #enterCall} for free, exactly as one run from the read
     * round does. Closed: runs it without entering (it finds the connection closed itself). Public
     * for netpoll's coroutine layer, which starts a handler coroutine this way.
     */
    public final void inRound(Runnable pass) {
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
    final Thread beginRound() {
        Thread outer = pollerInside;
        pollerInside = Thread.currentThread();
        return outer;
    }

    /** Ends a round begun by {@link #beginRound}: restores the outer mark, then leaves. */
    final void endRound(Thread outer) {
        pollerInside = outer;
        leave();
    }
}
