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
     * ({@link Views}); the one buffer that may re-point it ({@link #viewOwner}); and whether that
     * buffer handed it out since its last release() ({@link #viewLent}: the view is still its
     * caller's then). States: no view (view and owner null); owned and free; owned and lent.
     * <ul>
     *   <li>Only the reader of a buffer that holds this chunk alone ({@link #refs} == 1) makes a view
     *       or re-points one: nobody else can then retain or release the chunk, and every earlier
     *       holder let go with a release of refs after its last touch (the pool's hand-off orders a
     *       recycled chunk's next owner the same way). A sole holder that is not the owner makes a new
     *       view and becomes the owner; the old object, which the other buffer's caller may still
     *       hold, is never touched again. So a view object only ever moves inside one buffer, and a
     *       closed buffer's views never move.</li>
     *   <li>free → lent by the owner's {@code next}/{@code peek}; lent → free by the owner's
     *       release(), or when it lets go of the chunk ({@code NodeChain.endLoan}), while it still
     *       holds it (another holder never writes these fields while it is not alone).</li>
     *   <li>A chunk in the pool keeps its owner and view, so that the same buffer getting it back
     *       re-points the view again; a buffer's writer that gets a chunk some other buffer left its
     *       view on drops both ({@code NodeChain.claim}), and {@link NodeChain#close} drops them from
     *       the chunks it held. So a chunk keeps another buffer reachable only while it waits in the
     *       pool, which drops idle chunks within seconds.</li>
     * </ul>
     */
    ByteBuffer view;
    NodeChain viewOwner;
    boolean viewLent;

    /** No view, no owner (see {@link #view}); by a holder allowed to write them. */
    void dropView() {
        view = null;
        viewOwner = null;
        viewLent = false;
    }

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
            REFS.setRelease(this, 0);
            pool.recycle(this);
            return;
        }
        int r = (int) REFS.getAndAdd(this, -1) - 1;
        if (r == 0) {
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
