package io.netpoll.conn;

import io.netpoll.Connection;
import io.netpoll.OnRequest;
import io.netpoll.buffer.LinkBuffer;
import io.netpoll.buffer.Reader;
import io.netpoll.buffer.Writer;
import io.netpoll.error.ConnectionClosedException;
import io.netpoll.error.ConnectionResetException;
import io.netpoll.error.SyscallException;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.Poller;
import io.netpoll.sys.Sockets;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;

/**
 * The connection: an fd registered with one poller, an input {@link LinkBuffer} the poller reads
 * into, an output {@link LinkBuffer} the application writes into, and the state words that let the
 * poller thread and application threads share them safely.
 *
 * <p>This class is the implementation behind {@link Connection}; its public methods beyond that
 * interface ({@link #input()}, {@link #pollDesc()}, ...) are for the coroutines module and are not
 * part of the stable API.
 *
 * <p>A connection is one object built from a chain of classes, one concern each:
 * <ul>
 * <li>{@link ConnLifetime}: the parts (fd, poll descriptor, buffers, config, sender) and the
 *     lifetime word: enter and leave, close, destroy, close callbacks, the buffers' lengths from any
 *     thread (0 once destroyed), the poller's rounds;</li>
 * <li>{@link ConnTimeouts}: read and write timeouts and deadlines, the idle timeout;</li>
 * <li>{@link ConnReadSide}: the poller's side: readiness events, the read loop, the pause and
 *     resume of reading;</li>
 * <li>this class: construction and start, the application's reader, writer and streams, addresses,
 *     the attachment, and accessors for the coroutines module.</li>
 * </ul>
 * The chain costs nothing at run time: it adds no object or field per connection, fields are read as
 * {@code this.field}, and the superclasses' instance methods are final or private, so calls bind as
 * in one final class. The superclasses are public, so that the public methods they declare are
 * callable from other packages, but sealed with package-private constructors: nothing else extends
 * them.
 */
public final class NetConnection extends ConnReadSide {
    private final ConnReader reader;
    private final ConnReader bufferedReader;
    private final ConnWriter writer;
    private volatile Object attachment;
    private SocketAddress local;
    private SocketAddress remote;

    /**
     * Wraps a connected, non-blocking socket {@code fd} for {@code poller}; call {@link #start()} to
     * register it.
     */
    public NetConnection(int fd, Poller poller, ConnConfig config) {
        this(fd, poller, config, null);
    }

    /**
     * As above, taking over {@code registered}, a descriptor of {@code fd} already added to
     * {@code poller} (a dialed socket); call {@link #adopt()} instead of {@link #start()}.
     */
    public NetConnection(int fd, Poller poller, ConnConfig config, PollDesc registered) {
        super(fd, poller, config, registered);
        this.reader = new ConnReader(this, true);
        this.bufferedReader = new ConnReader(this, false);
        this.writer = new ConnWriter(this);
    }

    /**
     * Registers the socket with the poller (from any thread), then starts {@code onConnect} /
     * {@code onRequest} processing and the idle timer. On failure the connection is closed.
     */
    public void start() {
        if (!enter()) {
            return; // closed before it started (by onPrepare, or a shutdown): its fd number is gone
        }
        try {
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
        } finally {
            leave();
        }
    }

    /**
     * Like {@link #start()} for a descriptor that was already registered (a dialed socket): takes
     * its events over and reads whatever arrived meanwhile.
     */
    public void adopt() {
        pd.setHandler(this);
        if (!poller.isRunning()) {
            // The poller closed meanwhile; its close may have run before this connection was the
            // handler (then it only closed the descriptor): close here. (The handler is written
            // before the state is read, and the close writes the state before it reads the
            // handler, so at least one of the two closes the connection; closing is idempotent.)
            closeWith(new ConnectionClosedException());
            return;
        }
        runner.start();
        poller.execute(() -> {
            eventsUnknown = true;
            readReady();
            if (idleTimeoutNanos > 0) {
                armIdle();
            }
        });
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

    @Override
    public void setOnRequest(OnRequest handler) {
        runner.setHandler(handler);
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
            sender.shutdownWhenSent(); // after what the flush left queued, if anything
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

    /**
     * True when a handler that ended with {@code e} only met its connection's end, which is no
     * handler failure: a peer that reset it ({@link ConnectionResetException}, from a read or a
     * write), or a connection closed with no error or by such a reset ({@link
     * ConnectionClosedException} with no cause or a reset as its cause). Servers log other errors.
     */
    public static boolean endedByPeerOrClose(Throwable e) {
        if (e instanceof ConnectionResetException) {
            return true;
        }
        return e instanceof ConnectionClosedException
                && (e.getCause() == null || e.getCause() instanceof ConnectionResetException);
    }

    public Sender sender() {
        return sender;
    }

    public ConnConfig config() {
        return config;
    }

    /**
     * Closes once every byte flushed so far has been written (at once when nothing is queued), or a
     * write fails; with a write timeout set, closes anyway that long from now. For a handler that
     * returns right after a flush that left bytes queued (a write-queue limit): {@link #close()} would
     * drop them. Bytes written and not flushed are dropped, as by {@code close()}. Any thread.
     */
    public void closeWhenSent() {
        int t = enterCall();
        if (t == NOT_ENTERED) {
            return; // closed already
        }
        try {
            if (sender.idle()) {
                close();
                return;
            }
            sender.closeWhenSent();
            long timeout = writeTimeoutNanos();
            if (timeout > 0) {
                // cancelled at the close, so the wheel does not keep a closed connection for that long
                io.netpoll.timer.Timeout bound = poller.schedule(System.nanoTime() + timeout, this::close);
                addCloseCallback(c -> bound.cancel());
            }
        } finally {
            leaveCall(t);
        }
    }

    /** True while an onConnect/onRequest pass is running or scheduled. */
    public boolean requestBusy() {
        return runner.busy();
    }

    /**
     * Not started yet ({@code onPrepare} may still run), or its first handler pass, which runs
     * {@code onConnect}, has not run yet (a connection closed before then never runs it).
     */
    public boolean firstPassPending() {
        return runner.firstPassPending();
    }

    @Override
    public String toString() {
        return "NetConnection[fd=" + fd + (isActive() ? "" : " closed") + (inputEof() ? " eof" : "") + "]";
    }
}
