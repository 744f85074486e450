package io.netpoll.bench.load;

import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/** One active connection of the load generator: its socket, unsent bytes and request bookkeeping. */
final class Conn {
    final int id;
    final SocketChannel channel;
    SelectionKey key;
    /** Bytes queued but not yet written, in [0, position). Holds a full pipeline of frames. */
    final ByteBuffer out;
    /** When each in-flight request was sent (closed loop) or due (open loop), indexed by seq % pipeline. */
    final long[] startNs;
    /** Requests queued so far; the next request's sequence number. */
    long sent;
    /** Responses fully received and checked; the sequence number of the response being received. */
    long done;
    /** Open loop: requests that have fallen due on this connection so far (sent + waiting). */
    long due;
    /** Bytes of the current response received so far. */
    int recvOffset;
    /** An idle connection: one request while the run is set up, then nothing. */
    boolean idle;
    boolean writing;
    boolean dead;

    Conn(int id, SocketChannel channel, int pipeline, int frame) {
        this.id = id;
        this.channel = channel;
        this.out = ByteBuffer.allocateDirect(pipeline * frame);
        this.startNs = new long[pipeline];
    }

    int inFlight() {
        return (int) (sent - done);
    }
}
