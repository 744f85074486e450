package io.netpoll.sys;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A block of native memory for passing structs to the kernel (epoll events, iovecs, sockaddrs,
 * socket option values): a direct {@link ByteBuffer} in native byte order plus its address. The
 * memory belongs to the garbage collector, so it lives as long as this object or any view of it.
 * Not thread-safe; each owner (a poller, a call in progress) has its own.
 */
public final class NativeBuffer {
    private final ByteBuffer buf;
    private final long address;

    public NativeBuffer(int size) {
        this.buf = ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
        this.address = addressOf(buf);
    }

    /** The native address of a direct buffer's first byte (index 0, not its position). */
    public static long addressOf(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("not a direct buffer");
        }
        return Pointer.nativeValue(Native.getDirectBufferPointer(direct));
    }

    public ByteBuffer buffer() {
        return buf;
    }

    public long address() {
        return address;
    }

    public int size() {
        return buf.capacity();
    }

    public int getInt(int offset) {
        return buf.getInt(offset);
    }

    public long getLong(int offset) {
        return buf.getLong(offset);
    }

    public void putInt(int offset, int value) {
        buf.putInt(offset, value);
    }

    public void putLong(int offset, long value) {
        buf.putLong(offset, value);
    }
}
