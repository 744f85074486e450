package io.netpoll.buffer;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reuse of the {@link ByteBuffer} objects that {@link Reader#next} and {@link Reader#peek} return, so
 * that parsing frames allocates nothing: a view handed out before a {@link Reader#release()} is, after
 * it, pointed at the next bytes of the same chunk instead of a new view being made. A direct
 * {@code ByteBuffer}'s address and capacity have no public setter; this writes the two fields of
 * {@link Buffer} through {@code sun.misc.Unsafe}, as Netty does for its direct buffers.
 *
 * <p>Each chunk has one such view ({@link Chunk#view}). Safety rests on three rules the callers keep:
 * <ul>
 *   <li>A view is re-pointed only inside the chunk it was made from, so the memory it keeps
 *       reachable (its attachment, the chunk's own buffer) is the memory it points into, and the view
 *       dies with the chunk.</li>
 *   <li>A view object belongs to one buffer, the one that made it, and only that buffer's reader
 *       re-points it: only while the buffer holds the chunk alone, and not while the view is lent to
 *       its caller (from the call that handed it out to the buffer's next release()). Two views that
 *       are valid at once are never one object, and a view never changes under a caller of another
 *       buffer, or of a buffer that was closed (a connection closed under a handler that still holds
 *       a view).</li>
 *   <li>The address and capacity always describe bytes inside the chunk, so a view's capacity never
 *       reaches past them.</li>
 * </ul>
 *
 * <p>The price is the one every flyweight has: a view used after its release() is no longer stable.
 * On the reader's thread it shows the bytes of a later read. On another thread, racing the reader's
 * re-pointing, it may see the new address with the old limit, and so touch memory outside the chunk.
 * Both are bugs in the caller (the view ended at release()); the {@link Reader} contract says so, and
 * the debug poisoning, which turns reuse off, makes such a use read poison in tests.
 *
 * <p>{@link #ENABLED} is false, and every view is a new object, when: the debug poisoning is on
 * ({@code -Dnetpoll.buffer.poison=true}, so that a view used after release() reads the poison, not
 * the next frame); {@code -Dnetpoll.buffer.reuseViews=false}; the JDK is 24 or newer (it warns about
 * {@code sun.misc.Unsafe}'s memory methods) or has no such class; the fields are not found, or the
 * capacity is final (it is from JDK 21 on, so views are reused on JDK 17 to 20); or the self-test
 * below fails.
 */
final class Views {
    /** Whether views are reused (see the class comment). */
    static final boolean ENABLED;

    private static final sun.misc.Unsafe UNSAFE;
    private static final long ADDRESS;
    private static final long CAPACITY;

    static {
        sun.misc.Unsafe u = null;
        long address = -1;
        long capacity = -1;
        boolean ok = false;
        if (!BufferPool.POISON
                && Boolean.parseBoolean(System.getProperty("netpoll.buffer.reuseViews", "true"))
                && Runtime.version().feature() < 24) {
            try {
                Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                u = (sun.misc.Unsafe) f.get(null);
                Field a = Buffer.class.getDeclaredField("address");
                Field c = Buffer.class.getDeclaredField("capacity");
                if (a.getType() == long.class && c.getType() == int.class && !Modifier.isFinal(c.getModifiers())) {
                    address = u.objectFieldOffset(a);
                    capacity = u.objectFieldOffset(c);
                    ok = true;
                }
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                ok = false;
            }
        }
        UNSAFE = u;
        ADDRESS = address;
        CAPACITY = capacity;
        ENABLED = ok && selfTest();
    }

    private Views() {
    }

    /**
     * Points {@code view}, a view made from the chunk whose memory {@code address} is in, at the
     * {@code n} bytes from {@code address}: position 0, limit and capacity n, no mark, big-endian, as a
     * new {@code slice} would be. Only when {@link #ENABLED}.
     */
    static ByteBuffer repoint(ByteBuffer view, long address, int n) {
        UNSAFE.putLong(view, ADDRESS, address);
        UNSAFE.putInt(view, CAPACITY, n);
        view.clear();
        view.order(ByteOrder.BIG_ENDIAN);
        return view;
    }

    /** Re-points a view of a test buffer and reads through it; false on any surprise. */
    private static boolean selfTest() {
        try {
            ByteBuffer chunk = ByteBuffer.allocateDirect(64);
            for (int i = 0; i < 64; i++) {
                chunk.put(i, (byte) i);
            }
            long base = io.netpoll.sys.NativeBuffer.addressOf(chunk);
            ByteBuffer v = chunk.slice(0, 8);
            v.order(ByteOrder.LITTLE_ENDIAN).position(3);
            repoint(v, base + 40, 16);
            return v.capacity() == 16 && v.limit() == 16 && v.position() == 0
                    && v.order() == ByteOrder.BIG_ENDIAN && v.get(0) == 40 && v.get(15) == 55
                    && v.getInt(4) == 0x2C2D2E2F;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }
}
