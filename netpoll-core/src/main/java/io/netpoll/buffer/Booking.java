package io.netpoll.buffer;

import java.nio.ByteBuffer;

/**
 * The writer's reservation for one kernel read into a {@link LinkBuffer}: the chunks that
 * {@link LinkBuffer#book} described to the kernel as iovecs, held until {@link LinkBuffer#bookAck}
 * takes the filled ones into the chain and frees the rest. Writer thread only (and {@code close()}).
 */
final class Booking {
    private Chunk[] chunks = new Chunk[4];
    private int count;

    /** Chunks are reserved and not yet acked. */
    boolean active() {
        return count > 0;
    }

    int count() {
        return count;
    }

    /**
     * Reserves {@code count} chunks for {@code size} bytes (each at most {@link BufferPool#MAX_CHUNK})
     * and writes their iovecs ({@code {void* base; size_t len}}) at the start of {@code iov}.
     */
    void reserve(BufferPool pool, int size, int count, ByteBuffer iov) {
        if (chunks.length < count) {
            chunks = new Chunk[count];
        }
        int left = size;
        for (int i = 0; i < count; i++) {
            Chunk c = pool.allocate(Math.max(1, Math.min(left, BufferPool.MAX_CHUNK)));
            chunks[i] = c;
            this.count = i + 1; // what close() must free if the next allocation fails
            iov.putLong(i * 16, c.address);
            iov.putLong(i * 16 + 8, c.capacity());
            left -= c.capacity();
        }
    }

    /** Bytes reserved. */
    long bytes() {
        long n = 0;
        for (int i = 0; i < count; i++) {
            n += chunks[i].capacity();
        }
        return n;
    }

    /** Hands chunk {@code i} (and its reference) to the caller; {@link #done()} once all are taken. */
    Chunk take(int i) {
        Chunk c = chunks[i];
        chunks[i] = null;
        return c;
    }

    void done() {
        count = 0;
    }

    /** Frees every chunk not taken. */
    void freeAll() {
        for (int i = 0; i < count; i++) {
            if (chunks[i] != null) {
                chunks[i].release();
                chunks[i] = null;
            }
        }
        count = 0;
    }
}
