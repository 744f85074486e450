package io.netpoll.buffer;

import io.netpoll.sys.NativeBuffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * A block of off-heap memory that buffer {@link Node}s point into: a pooled block of one size class,
 * an unpooled block for a large request, or caller memory referenced by
 * {@link Writer#writeDirect}. Shared by every node that refers to it (slices, appends); returned to
 * its pool when the last one lets go.
 *
 * <p>{@link #refs}: the number of nodes that refer to this chunk. 1 when allocated; +1 by each node
 * that shares it ({@link #retain}, any thread holding a node); -1 by each node freed
 * ({@link #release}); the thread that takes it to 0 recycles the chunk. Below 0 is impossible and
 * throws (a double release).
 *
 * <p>Only a holder changes the count, so a holder that reads 1 is the only one: nobody else can
 * change it concurrently, and a plain (release) store of the new count does instead of an atomic
 * read-modify-write. The read is an acquire, so the memory accesses of a holder that let go just
 * before happen before this thread reuses the chunk.
 */
final class Chunk {
    private static final VarHandle REFS;

    static {
        try {
            REFS = MethodHandles.lookup().findVarHandle(Chunk.class, "refs", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The memory, big-endian, index 0 = first byte; never repositioned (absolute access only). */
    final ByteBuffer buf;
    final long address;
    /** Size class index in the pool, or {@link BufferPool#UNPOOLED} / {@link BufferPool#EXTERNAL}. */
    final int sizeClass;
    final BufferPool pool;
    /** See the class comment. */
    private volatile int refs = 1;
    /**
     * The view that {@link Reader#next}/{@link Reader#peek} re-point instead of making a new one
     * ({@link Views}), made at the first such call, and the buffer it is lent to: null, or the buffer
     * whose reader handed it out since that buffer's last release() (the view is still the caller's
     * then). Set (and the view re-pointed) only by the reader of a buffer that holds this chunk alone
     * ({@link #refs} == 1): nobody else can then retain or release it, and every earlier holder let
     * go with a release of refs after its last touch. Cleared by the buffer named, at its release()
     * or when it lets go of the chunk ({@code NodeChain.endLoan}), and when the chunk goes back to its
     * pool, so a pooled chunk keeps no buffer reachable.
     */
    ByteBuffer view;
    NodeChain lentBy;

    Chunk(ByteBuffer buf, int sizeClass, BufferPool pool) {
        this.buf = buf;
        this.address = NativeBuffer.addressOf(buf);
        this.sizeClass = sizeClass;
        this.pool = pool;
    }

    int capacity() {
        return buf.capacity();
    }

    void retain() {
        if ((int) REFS.getAcquire(this) == 1) {
            REFS.setRelease(this, 2);
            return;
        }
        int r = (int) REFS.getAndAdd(this, 1);
        if (r <= 0) {
            throw new IllegalStateException("retain of a released chunk");
        }
    }

    void release() {
        if ((int) REFS.getAcquire(this) == 1) {
            lentBy = null;
            REFS.setRelease(this, 0);
            pool.recycle(this);
            return;
        }
        int r = (int) REFS.getAndAdd(this, -1) - 1;
        if (r == 0) {
            lentBy = null; // the last holder: nobody else touches the chunk now
            pool.recycle(this);
        } else if (r < 0) {
            throw new IllegalStateException("chunk released twice");
        }
    }

    /** Pool only: a recycled chunk handed out again starts with one reference. */
    void reset() {
        REFS.setRelease(this, 1);
    }

    int refs() {
        return refs;
    }
}
