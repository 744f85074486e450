package io.netpoll;

import io.netpoll.buffer.Reader;
import io.netpoll.buffer.Writer;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;

/**
 * A TCP or unix-domain stream connection driven by a netpoll poller.
 *
 * <pre>{@code
 * EventLoop loop = EventLoop.builder()
 *     .onRequest(conn -> {                        // runs while unread input remains
 *         Reader in = conn.reader();
 *         if (in.len() < 4) return;               // not a whole header yet: called again on more input
 *         int n = in.peekInt(0);                  // the length, without consuming it
 *         if (in.len() < 4 + n) return;
 *         ByteBuffer frame = in.next(4 + n);      // zero-copy view, valid until release()
 *         conn.writer().writeBuffer(frame);
 *         in.release();
 *         conn.writer().flush();                  // sends on this thread
 *     })
 *     .build();
 * }</pre>
 *
 * <p><b>Reading.</b> The poller reads into the connection's input buffer as bytes arrive (up to
 * the input cap, then it pauses until the handler consumes). {@link #reader()} waits, when called
 * off the poller thread, for as many bytes as a call needs: until they arrive, the read deadline or
 * timeout passes ({@link io.netpoll.error.ReadTimeoutException}; nothing consumed, the connection stays
 * usable), the peer finishes sending ({@link io.netpoll.error.EofException}, after every byte it sent was
 * read), or the connection closes ({@link io.netpoll.error.ConnectionClosedException}). On the poller
 * thread (inline handlers) a call that would have to wait throws {@link IllegalStateException}:
 * check {@link Reader#len()} and return instead; {@code onRequest} runs again when more bytes arrive.
 *
 * <p><b>Writing.</b> {@link #writer()} buffers; {@code flush()} writes on the calling thread. If the
 * socket is full the rest is queued and the poller finishes the send; off the poller thread,
 * {@code flush()} then waits until at most the write-queue limit (default 0: everything) is still
 * queued, or the write deadline or timeout passes ({@link io.netpoll.error.WriteTimeoutException}; the
 * queued bytes stay queued and are still sent). Two threads flushing at once: the second gets
 * {@link io.netpoll.error.ConcurrentAccessException}. On the poller thread {@code flush()} never
 * waits; while the queue is over the limit the connection stops reading (backpressure).
 *
 * <p><b>Interrupts.</b> A thread interrupted while a read or a {@code flush()} waits (or that starts
 * a wait with its interrupt status set) gets {@link java.io.InterruptedIOException} with its
 * interrupt status still set; as with a timeout, the read consumed nothing, the bytes the flush
 * handed over stay queued and are still sent, and the connection stays open and usable. (Unlike an
 * {@link java.nio.channels.InterruptibleChannel}, an interrupt never closes the connection.)
 *
 * <p><b>Closing.</b> {@link #close()} closes the socket, wakes every blocked call with
 * {@code ConnectionClosedException}, discards unsent output, and runs the close callbacks (newest
 * first, exactly once) when no call on the connection is still in progress; its buffers go back to
 * the pool at the same moment. Calls after close throw {@code ConnectionClosedException}, except the
 * writer's write and malloc calls, which drop their bytes (the flush after them throws it; append
 * throws it). A peer's
 * reset keeps the bytes that came before it, as a FIN does: they are read first, and the read that
 * needs more than is left throws {@code ConnectionClosedException} caused by
 * {@link io.netpoll.error.ConnectionResetException} and closes the connection with that cause
 * ({@code onRequest} handlers: once a pass leaves them unconsumed). A reset with nothing unread
 * closes the connection at once. A write that fails (a reset, or the socket shut down) ends the
 * output only: {@code flush()} throws the write's error ({@link io.netpoll.error.ConnectionResetException}
 * for a reset) then and on every later call, unsent output is discarded, and the input stays
 * readable to its end, as above (a reset ends it behind the bytes before it, also when it was the
 * write that met the reset); if the input had ended already with nothing left unread, the connection
 * closes at once.
 *
 * <p><b>Threads.</b> One thread reads and one thread writes at a time; {@code close()}, deadlines
 * and timeouts may be set from any thread.
 */
public interface Connection extends AutoCloseable {
    /** The input side (netpoll's nocopy Reader), blocking as described above. */
    Reader reader();

    /** The output side (netpoll's Writer); {@code flush()} sends. */
    Writer writer();

    /** True until the connection is closed (by either side, an error, a timeout or shutdown). */
    boolean isActive();

    /** Closes the connection; idempotent, safe from any thread. */
    @Override
    void close();

    /**
     * Why the connection closed: {@code null} while open or when closed normally, else the error
     * ({@link io.netpoll.error.ConnectionResetException}, {@link io.netpoll.error.IdleTimeoutException}, ...).
     */
    Throwable closeCause();

    /**
     * Adds a callback run once when the connection has closed and no call on it is in progress.
     * Callbacks run newest first, on the handler executor. Added after close: runs at once.
     */
    void addCloseCallback(CloseCallback callback);

    /** Sets (or replaces) the handler run while unread input remains; see {@link OnRequest}. */
    void setOnRequest(OnRequest handler);

    /**
     * Bounds each wait for input ({@code null} or zero: no bound), from the wait's start; a change
     * applies from the next wait. A wait ends at the earlier of this bound and the read deadline.
     */
    void setReadTimeout(Duration timeout);

    /** Bounds each wait for the socket to take queued output ({@code null} or zero: no bound). */
    void setWriteTimeout(Duration timeout);

    /**
     * Closes the connection after this long without traffic in either direction ({@code null}/zero:
     * never), counted from this call or from the last traffic after it.
     */
    void setIdleTimeout(Duration timeout);

    /**
     * An absolute deadline for every read wait ({@code null}: none), also the one in progress: moving
     * it re-arms that wait (which keeps the bound of its read timeout), a past deadline fails it and
     * later waits at once, until the deadline is moved or cleared.
     */
    void setReadDeadline(Instant deadline);

    /** An absolute deadline for every write wait ({@code null}: none). */
    void setWriteDeadline(Instant deadline);

    SocketAddress localAddress();

    SocketAddress remoteAddress();

    /**
     * Flushes, then shuts down the sending side once everything flushed is sent: the peer reads EOF
     * after the last byte; reading goes on. Where a flush returns with bytes still queued (on a
     * poller thread, or within a write-queue limit) the shutdown follows when the send task has
     * written them, so nothing flushed is cut off; bytes flushed in between go out first too (a
     * {@code close()} or timeout before then drops them, and the shutdown with them). Even off the
     * poller the call may return a moment before the shutdown itself, which the poller's send task
     * then makes as it lets go of the socket: bytes flushed in that moment still go out before the
     * EOF. A flush with bytes after the shutdown fails ({@link io.netpoll.error.ConnectionResetException}, broken pipe).
     * Closed: {@link io.netpoll.error.ConnectionClosedException}; a failed write: its error, as
     * {@code flush()}.
     */
    void shutdownOutput() throws java.io.IOException;

    /**
     * A blocking {@link InputStream} over {@link #reader()}; {@code read} returns -1 at EOF (the peer's
     * FIN). After a peer's reset it returns the bytes that came before it, then throws
     * {@link io.netpoll.error.ConnectionClosedException} caused by the reset, as a socket's stream does.
     * Each {@code read} releases the reader, so views from {@code reader().next/peek} end there.
     */
    InputStream inputStream();

    /**
     * An {@link OutputStream} over {@link #writer()}; {@code flush()} sends. {@code close()} flushes,
     * then closes the connection once everything flushed is sent (at once if nothing is left
     * queued), as a socket's stream does.
     */
    OutputStream outputStream();

    /** Whatever the application attached (netpoll's context), or {@code null}. */
    Object attachment();

    void attach(Object attachment);
}
