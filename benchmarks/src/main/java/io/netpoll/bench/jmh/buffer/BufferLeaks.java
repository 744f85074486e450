package io.netpoll.bench.jmh.buffer;

import io.netpoll.buffer.BufferPool;

/** Fails a benchmark trial whose LinkBuffers did not give every byte back to their pool. */
final class BufferLeaks {
    private BufferLeaks() {
    }

    static void check(String what, BufferPool pool) {
        long inUse = pool.bytesInUse();
        if (inUse != 0) {
            throw new IllegalStateException(what + " leaked " + inUse + " bytes of pool memory");
        }
    }
}
