package io.netpoll.buffer;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * netpoll's two-phase writing contract: reserve and fill ({@link #malloc} or the {@code write...}
 * calls), then publish with {@link #flush()}. Bytes written are invisible to the reader side until
 * flushed; on a connection, {@code flush()} also sends them.
 *
 * <p><b>Errors.</b> A negative size, or {@link #mallocAck} with more than {@link #mallocLen()}, is an
 * {@link IllegalArgumentException}; a {@link #flush()} that would leave more than
 * {@code Integer.MAX_VALUE} bytes readable is an {@link IllegalStateException} and publishes nothing;
 * any use after the buffer was closed is an
 * {@link IllegalStateException}. A connection's writer says in its own documentation what flush does
 * on close, deadline and backpressure.
 *
 * <p><b>Threads.</b> One thread writes at a time (while another may read).
 */
public interface Writer {
    /**
     * Reserves {@code n} bytes at the end and returns a writable view of exactly them (position 0,
     * limit n, big-endian). Fill it, then {@link #flush()}; {@link #mallocAck} can give back the tail.
     */
    ByteBuffer malloc(int n);

    /** Bytes reserved or written since the last flush. */
    int mallocLen();

    /** Keeps the first {@code n} of the {@link #mallocLen()} unflushed bytes and drops the rest. */
    void mallocAck(int n);

    void writeByte(byte b);

    /** Big-endian. */
    void writeShort(short v);

    /** Big-endian. */
    void writeInt(int v);

    /** Big-endian. */
    void writeLong(long v);

    /** Copies the bytes. */
    void writeBinary(byte[] bytes);

    /** Copies {@code len} bytes from {@code bytes[off]}. */
    void writeBinary(byte[] bytes, int off, int len);

    /** Copies the remaining bytes of {@code src} (heap or direct) and advances its position. */
    void writeBuffer(ByteBuffer src);

    /** Writes the UTF-8 bytes of {@code s}. */
    void writeString(String s);

    /**
     * References the remaining bytes of a <em>direct</em> buffer instead of copying them: the kernel
     * will send straight from it. The caller must not change those bytes until they have been sent
     * (on a connection, until {@code flush()} returns with nothing queued) or read, and, where a
     * {@code slice} or an {@code append} took them on (zero copy), until those are released or
     * closed too. A heap buffer is copied, as by {@link #writeBuffer}. Advances {@code src}'s position.
     */
    void writeDirect(ByteBuffer src);

    /**
     * Moves every readable byte of {@code other} to the end of this writer without copying (the two
     * share memory by reference counts); {@code other} is left empty and released, so views returned
     * by its {@code next}/{@code peek} before the call become invalid, as after its own
     * {@code release()}. {@code other} must not be in use by another thread.
     */
    void append(LinkBuffer other) throws IOException;

    /** Publishes everything written so far to the reader side (a connection also sends it). */
    void flush() throws IOException;
}
