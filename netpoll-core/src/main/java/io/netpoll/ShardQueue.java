package io.netpoll;

import io.netpoll.buffer.LinkBuffer;
import io.netpoll.conn.NetConnection;
import io.netpoll.conn.PassWord;
import io.netpoll.error.ConnectionClosedException;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * netpoll's {@code mux.ShardQueue}: many threads write whole messages to one multiplexed connection;
 * the queue merges them, in the order they were added, into as few flushes as possible, on one
 * drainer at a time (a connection has one writer).
 *
 * <pre>{@code
 * ShardQueue q = new ShardQueue(conn, 4096);
 * // any thread:
 * LinkBuffer msg = new LinkBuffer();
 * msg.writeInt(payload.length);
 * msg.writeBinary(payload);
 * msg.flush();
 * q.add(msg);               // the queue owns msg now; its bytes are appended without copying
 * ...
 * q.close();                // sends what was added, then refuses more
 * }</pre>
 *
 * <p>Design: a ring of {@code capacity} slots indexed by a sequence number taken with one atomic
 * increment (Go's version keeps per-shard lists; one sequenced ring keeps the global add order with no
 * lock). The drainer takes consecutive slots until it meets one whose producer has not stored its
 * message yet, appends them all to the connection's writer, flushes once, and stops; that producer's
 * own trigger starts the next round, so the drainer never waits and nothing is stranded (the same
 * IDLE / RUNNING / AGAIN rule as {@code onRequest}: a {@link PassWord}). {@link #add} blocks while
 * {@code capacity} messages are queued (backpressure).
 *
 * <p>Errors: {@code add} after {@link #close} or on a closed connection throws
 * {@link ConnectionClosedException} (the message is closed, not sent), also when the close came while
 * it waited for room. An add that meets a failed flush right after queueing its message throws it
 * too, though the message may have gone out before the failure (as with any write the peer had not
 * acknowledged); an add that returns normally has its message queued, and a later failure can still
 * drop it. A failed flush, or an
 * executor that cannot run the drainer, closes the connection for good; messages still queued are
 * released, and the {@code add} whose drainer could not be dispatched throws
 * {@code ConnectionClosedException} caused by the executor's error.
 */
public final class ShardQueue implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.netpoll");

    private final Connection conn;
    private final Executor executor;
    private final AtomicReferenceArray<LinkBuffer> slots;
    private final int capacity;
    private final AtomicLong tail = new AtomicLong();
    private final Semaphore room;
    /** Next sequence to drain; drainer only. */
    private long head;
    /** One drainer at a time, and no add left unseen: an add claims it, the drainer is its pass. */
    private final PassWord drains = new PassWord();
    private volatile boolean closed;
    /** false → true once, when a drain failed or could not be dispatched (see {@link #failed}). */
    private volatile boolean broken;

    /** A queue of at most {@code capacity} pending messages in front of {@code conn}. */
    public ShardQueue(Connection conn, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
        }
        this.conn = conn;
        this.capacity = capacity;
        this.slots = new AtomicReferenceArray<>(capacity);
        this.room = new Semaphore(capacity);
        this.executor = conn instanceof NetConnection nc && !nc.config().inline()
                ? nc.config().executor()
                : conn instanceof NetConnection nc2 ? nc2.poller() : Runnable::run;
    }

    /**
     * Queues a flushed buffer (ownership passes to the queue) to be appended to the connection's
     * output, after every message added before it. Blocks while the queue is full. Safe from any thread.
     */
    public void add(LinkBuffer message) throws IOException {
        if (closed || !conn.isActive()) {
            message.close();
            throw new ConnectionClosedException();
        }
        try {
            room.acquire();
        } catch (InterruptedException e) {
            message.close();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the queue was full");
        }
        if (closed || broken || !conn.isActive()) {
            // closed, or failed, while this add waited for room: refused as at the door
            room.release();
            message.close();
            throw new ConnectionClosedException();
        }
        long seq = tail.getAndIncrement();
        slots.set((int) (seq % capacity), message);
        Throwable failure = trigger();
        if (failure != null) {
            throw new ConnectionClosedException(failure);
        }
        if (broken) {
            discard(); // the queue failed meanwhile: this message may be past every drain
            throw new ConnectionClosedException();
        }
    }

    /** Makes sure a drain sees the queue; the executor's error if it could not dispatch one (the queue is then broken). */
    private Throwable trigger() {
        if (drains.claim()) {
            try {
                executor.execute(this::drain);
            } catch (Throwable e) {
                // rejected, or no thread for it: no drain will run, so none would ever run again
                failed(e);
                return e;
            }
        }
        return null;
    }

    private void drain() {
        try {
            for (;;) {
                if (broken) {
                    discard(); // a drain queued before the failure: free what is there, leave the word claimed
                    return;
                }
                drains.beginRound();
                int taken = 0;
                for (;;) {
                    int i = (int) (head % capacity);
                    // taken, not read: a discard after a failure may run meanwhile, and each message
                    // must be closed once
                    LinkBuffer m = slots.getAndSet(i, null);
                    if (m == null) {
                        break; // empty, or its producer has not stored it yet: its trigger brings us back
                    }
                    head++;
                    room.release();
                    taken++;
                    if (conn.isActive()) {
                        conn.writer().append(m);
                    }
                    m.close();
                }
                if (taken > 0 && conn.isActive()) {
                    conn.writer().flush();
                }
                if (drains.endPass()) {
                    return;
                }
            }
        } catch (Throwable e) {
            failed(e);
        }
    }

    /**
     * A drain failed or cannot be dispatched: the queue is broken for good, the connection closes and
     * the queued messages are freed. The pass word stays claimed, so no drain is dispatched again; one
     * already queued, and every add still in flight, discards too (each message is taken once).
     */
    private void failed(Throwable e) {
        broken = true;
        try {
            conn.close();
        } finally {
            discard();
        }
        LOG.log(System.Logger.Level.DEBUG, "ShardQueue flush failed; closed the connection", e);
    }

    private void discard() {
        for (int i = 0; i < capacity; i++) {
            LinkBuffer m = slots.getAndSet(i, null);
            if (m != null) {
                m.close();
                room.release();
            }
        }
    }

    /** Messages added and not yet appended to the connection. */
    public int pending() {
        return capacity - room.availablePermits();
    }

    /**
     * Refuses further adds; what was added is still sent (the drainer finishes in the background).
     * Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        trigger(); // a failure closes the connection, which is what close() leads to anyway
    }
}
