package io.netpoll.buffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;

/**
 * netpoll's zero-copy reading contract.
 *
 * <p><b>Views.</b> {@link #next} and {@link #peek} return {@link ByteBuffer}s that point straight
 * into the buffer's off-heap memory (big-endian, position 0, limit n). A view is valid until the
 * next {@link #release()}; after that its bytes may be reused by another buffer. A view that would
 * span two internal nodes is assembled into pooled scratch memory, which {@code release()} frees too.
 * After {@code release()} the view <em>object</em> may also be handed out again by a later
 * {@code next} or {@code peek} of the same buffer, pointing at other bytes: a buffer re-points the
 * views it handed out before instead of allocating new ones, so that parsing frames allocates nothing
 * (the first view per chunk after each release is re-pointed; more views before the same release are
 * new objects). Views that are valid at the same time are always distinct objects; a re-pointed view
 * is shaped as a new one (position 0, limit and capacity n, no mark, big-endian), whatever its last
 * user did to it; and a view never changes once its buffer is closed, nor through another buffer.
 * So a view is a flyweight: keep neither its bytes nor the object past {@code release()}, and copy
 * what must outlive it ({@link #readBinary}). A view used after its release shows the bytes of a
 * later read on the reader's thread; on another thread, racing the reader, it may even touch memory
 * outside the buffer's (as a released, recycled Netty {@code ByteBuf} may). Hand a view to another
 * thread only if that thread is done with it before {@code release()}. With
 * {@code -Dnetpoll.buffer.reuseViews=false} every view is a new object that never changes (a view used
 * after its release then reads stale bytes of its own memory, never anything else); with the debug
 * switch {@code -Dnetpoll.buffer.poison=true} views are not reused either and freed memory is
 * overwritten, so a use after release shows up in tests as poison bytes. Reuse needs JDK 17 to 20
 * (from JDK 21 on a buffer's capacity is final).
 * Reading methods that return Java values ({@link #readBinary}, {@link #readString}, {@link #readInt}
 * ...) copy and stay valid forever.
 *
 * <p><b>Not enough bytes.</b> On a plain {@link LinkBuffer} a request for more than {@link #len()}
 * bytes throws {@link io.netpoll.error.EofException} and consumes nothing. On a connection's reader
 * the same call waits until the bytes arrive, the read deadline passes
 * ({@link io.netpoll.error.ReadTimeoutException}; nothing consumed, the connection stays usable), the
 * peer finishes sending ({@code EofException} once every byte it sent has been read) or the connection
 * closes ({@link io.netpoll.error.ConnectionClosedException}; after a peer's reset, once every byte
 * that came before it has been read, with the reset as its cause), or the waiting thread is
 * interrupted ({@link java.io.InterruptedIOException}; nothing consumed, the interrupt status stays
 * set).
 *
 * <p><b>Errors.</b> A negative size is an {@link IllegalArgumentException}; any use after the
 * buffer was closed is an {@link IllegalStateException}. On a connection's reader every call but
 * {@link #len()} and {@link #release()} throws {@link io.netpoll.error.ConnectionClosedException}
 * once the connection is closed (the calls that never wait too), so a handler racing a close from
 * another thread meets the closed error, never an index error.
 *
 * <p><b>Threads.</b> One thread reads at a time (while another may write).
 */
public interface Reader {
    /** Consumes {@code n} bytes and returns a view of them, valid until {@link #release()}. */
    ByteBuffer next(int n) throws IOException;

    /** Returns a view of the next {@code n} bytes without consuming them, valid until {@link #release()}. */
    ByteBuffer peek(int n) throws IOException;

    /** Consumes {@code n} bytes without looking at them. */
    void skip(int n) throws IOException;

    /**
     * Consumes bytes up to and including the first {@code delim} and returns a view of them, valid
     * until {@link #release()}. Without a delimiter in the buffer a plain LinkBuffer throws
     * {@code EofException} and consumes nothing; a connection waits for more input, up to its input
     * cap ({@code maxInputBytes}) without a delimiter: then {@code LimitExceededException}, nothing
     * consumed.
     */
    ByteBuffer until(byte delim) throws IOException;

    /**
     * Offset of the first {@code delim} at or after {@code from} among the readable bytes, or -1.
     * Consumes nothing and never waits.
     */
    int indexOf(byte delim, int from) throws IOException;

    /** The byte at {@code offset} among the readable bytes, without consuming; never waits. */
    byte peekByte(int offset) throws IOException;

    /**
     * The big-endian int at {@code offset} among the readable bytes, without consuming and without
     * allocating (a frame header, say); never waits. {@link IndexOutOfBoundsException} unless
     * {@code offset + 4 <= len()}.
     */
    int peekInt(int offset) throws IOException;

    /** Consumes {@code n} bytes and decodes them with {@code charset}. */
    String readString(int n, Charset charset) throws IOException;

    /** Consumes {@code n} bytes and decodes them as UTF-8. */
    String readString(int n) throws IOException;

    /** Consumes {@code n} bytes into a new array. */
    byte[] readBinary(int n) throws IOException;

    byte readByte() throws IOException;

    /** Big-endian. */
    short readShort() throws IOException;

    /** Big-endian. */
    int readInt() throws IOException;

    /** Big-endian. */
    long readLong() throws IOException;

    /**
     * Consumes {@code n} bytes into a new buffer that shares this buffer's memory (no copy): reference
     * counts keep each shared chunk alive until both sides have released it. The slice is
     * independent: release or close it whenever you like.
     */
    LinkBuffer slice(int n) throws IOException;

    /**
     * Frees the memory of everything consumed so far. Views returned before this call become
     * invalid; slices stay valid.
     */
    void release();

    /** Bytes readable now, without waiting. */
    int len();
}
