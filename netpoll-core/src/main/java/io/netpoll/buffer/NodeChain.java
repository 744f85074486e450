package io.netpoll.buffer;

import io.netpoll.error.EofException;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * The node chain under a {@link LinkBuffer}, and how memory enters and leaves it: the two counters
 * the reader and the writer meet at ({@link #len()}), the links between nodes, {@link #flush()},
 * {@link #release()}, kernel reads ({@link #book}/{@link #bookAck}) and writes ({@link #fillIov}),
 * and {@link #close()}. {@link LinkBuffer} builds the typed Reader and Writer calls on it; the class
 * comment there gives the threading contract, which every method here follows.
 */
abstract sealed class NodeChain permits LinkBuffer {
    /** {@link #written} of a closed buffer. */
    private static final long CLOSED = Long.MIN_VALUE;

    private static final VarHandle WRITTEN;
    private static final VarHandle CONSUMED;
    private static final VarHandle SPARE;
    private static final VarHandle HEAD;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            WRITTEN = l.findVarHandle(NodeChain.class, "written", long.class);
            CONSUMED = l.findVarHandle(NodeChain.class, "consumed", long.class);
            SPARE = l.findVarHandle(NodeChain.class, "spare", Node.class);
            HEAD = l.findVarHandle(NodeChain.class, "head", Node.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final BufferPool pool;

    /**
     * Bytes published since creation. Written by the writer only, at flush, with a release store: a
     * reader that reads it with an acquire sees every byte it counts. A release store may still be
     * reordered with the writer's next volatile read; a caller whose handshake needs that order (the
     * connection's: its writer publishes, then reads a state word that the other side stores before
     * reading {@link #len()}) adds a full fence after the flush ({@code SendWord.send} after
     * {@code publish()}, {@code ConnReadSide} after {@code bookAck}). {@link #CLOSED} once closed, so
     * the check every call makes for that is the same load as the length's.
     */
    long written;
    /**
     * Bytes consumed since creation. Written by the reader only, with release stores (the reader reads
     * it plainly; other threads read it with acquire); never above {@link #written}.
     */
    long consumed;

    // reader side
    Node head;
    Node readNode;
    /** Scratch chunks of assembled views, freed at release(): the non-null prefix. */
    private Chunk[] scratch;
    /** Bytes described by the last {@link #fillIov}. */
    private int iovBytes;

    // writer side
    Node tail;
    /** First node that may hold unflushed bytes. */
    Node flushNode;
    int unflushed;
    /** The chunks of a {@link #book} until its {@link #bookAck}; made at the first book(). */
    Booking booking;

    /**
     * The {@link NodeCache} this buffer used last, by whichever of its threads: a hint for
     * {@link #nodeCache()}, which checks the owner, so a racy read of another thread's is harmless.
     */
    private NodeCache nodeCache;

    /**
     * The last node the reader freed, kept so that the writer's next node is that object again and a
     * steady stream of writes or kernel reads allocates no node (the chunk went back to the pool; this
     * is a 40-byte object, not memory). States: null (none) or a freed node. The reader moves null or
     * a node to the node it just freed ({@link #free}: a release store after its last access to it);
     * the writer moves a node to null when it takes it ({@link #takeSpare}), and nobody else touches it.
     * Only this buffer's own writer takes the node ({@link #takeSpare}; a writer with no use for it
     * gives it to its thread's {@link NodeCache}), and the only references left to a freed node are
     * that writer's {@link #tail} (the reader freed the last node) and {@link #flushNode} (a flushed,
     * consumed node; every node after it is unflushed, so still held): takeSpare mends both. The
     * reader holds none: its head and readNode have moved past it.
     */
    private Node spare;

    NodeChain(BufferPool pool) {
        this.pool = pool;
    }

    /** The pool this buffer draws its memory from. */
    public BufferPool pool() {
        return pool;
    }

    final void open() {
        if ((long) WRITTEN.getAcquire(this) == CLOSED) {
            throw closedError();
        }
    }

    static IllegalStateException closedError() {
        return new IllegalStateException("LinkBuffer is closed");
    }

    static void checkSize(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative size: " + n);
        }
    }

    // ------------------------------------------------------------------------------------ reader

    /** Readable bytes: {@link Reader#len()}. Any thread; throws {@link IllegalStateException} once closed. */
    public int len() {
        // the consumed count first: the published count read after it can only be larger
        long c = (long) CONSUMED.getAcquire(this);
        long w = (long) WRITTEN.getVolatile(this);
        if (w == CLOSED) {
            throw closedError();
        }
        return (int) (w - c);
    }

    /** Readable bytes, on the reader thread (its own counter needs no ordering); throws if closed. */
    final int readerLen() {
        long w = (long) WRITTEN.getAcquire(this);
        if (w == CLOSED) {
            throw closedError();
        }
        return (int) (w - consumed);
    }

    /** Throws unless {@code n} bytes are readable. */
    final void need(int n) throws EofException {
        int l = readerLen();
        checkSize(n);
        if (n > l) {
            throw new EofException(n, l);
        }
    }

    final void consumed(int n) {
        CONSUMED.setRelease(this, consumed + n);
    }

    /**
     * Reader side: how many bytes have been consumed from this buffer since it was created. Comparing
     * two readings tells whether the reader made progress, whatever the writer appended meanwhile.
     */
    public long consumedTotal() {
        return consumed;
    }

    /** The node the next byte is in, stepping past consumed, sealed nodes. Only when len() > 0. */
    final Node current() {
        Node n = readNode;
        if (n.read != n.end) {
            // unread bytes in the read node: it is the current one, sealed or not (end only grows
            // while the node is the writer's, so a stale end here is never past the real one)
            return n;
        }
        while (n.finished()) {
            Node next = n.next();
            if (next == null || next == Node.TOMBSTONE) {
                break;
            }
            n = next;
        }
        readNode = n;
        return n;
    }

    final void skipUnchecked(int n) {
        advance(n);
        consumed(n);
    }

    /** Reader: steps the read position {@code n} readable bytes on (they are there); no accounting. */
    final void advance(int n) {
        int left = n;
        Node c = current();
        for (;;) {
            int k = Math.min(c.readable(), left);
            c.read += k;
            left -= k;
            if (left == 0) {
                break;
            }
            c = c.next();
        }
        readNode = c;
    }

    /**
     * A view of the {@code n} readable bytes at {@code c}'s read index (they are there): position 0,
     * limit n, valid until release(). When this buffer holds the chunk alone: the chunk's view
     * re-pointed if this buffer owns it and has not lent it since its last release, else a new view
     * that becomes the chunk's, owned by this buffer (see {@link Chunk#view}). Otherwise a new view.
     */
    final ByteBuffer view(Node c, int n) {
        Chunk k = c.chunk;
        if (!Views.ENABLED || k.refs() != 1) {
            return k.buf.slice(c.read, n);
        }
        if (k.viewOwner == this) {
            if (k.viewLent) {
                return k.buf.slice(c.read, n);
            }
            k.viewLent = true;
            return Views.repoint(k.view, k.address + c.read, n);
        }
        ByteBuffer v = k.buf.slice(c.read, n);
        k.view = v;
        k.viewOwner = this;
        k.viewLent = true;
        return v;
    }

    /** Keeps {@code s} (an assembled view's scratch memory) until the next release() or close(). */
    final void holdScratch(Chunk s) {
        int i = 0;
        if (scratch == null) {
            scratch = new Chunk[4];
        } else {
            while (i < scratch.length && scratch[i] != null) {
                i++;
            }
            if (i == scratch.length) {
                scratch = java.util.Arrays.copyOf(scratch, i * 2);
            }
        }
        scratch[i] = s;
    }

    private void freeScratch() {
        Chunk[] s = scratch;
        for (int i = 0; s != null && i < s.length && s[i] != null; i++) {
            s[i].release();
            s[i] = null;
        }
    }

    /** Frees what has been consumed: {@link Reader#release()}. Reader thread. */
    public void release() {
        open();
        freeScratch();
        // acquire: after this reader freed the last node, the writer may start a new chain (link),
        // reusing that very node object: its release store of head orders the node's new fields and
        // readNode before it, so a new head is never seen with the node's fields from its last life
        Node n = (Node) HEAD.getAcquire(this);
        Node cur = readNode;
        if (n == null || cur == null) {
            return; // nothing held
        }
        cur = readerLen() > 0 ? current() : settle(cur);
        freeBefore(n, cur);
        // views are lent from the read node only, which never moves back: the nodes before cur are
        // freed (free() ends their loans), and cur's loan ends here
        endLoan(cur.chunk);
        // readNode too: a freed node is reused by the writer (see spare), so nothing may point at one
        head = cur;
        readNode = cur;
        if (!cur.finished()) {
            return;
        }
        // the last node, fully consumed and sealed: free it unless the writer links a successor first
        Node next = cur.next();
        if (next == null) {
            head = null;
            readNode = null;
            if (cur.tombstone()) {
                free(cur);
                return;
            }
            next = cur.next();
        }
        free(cur);
        head = next;
        readNode = next;
    }

    /** Every node went to another buffer ({@code append}, which has both sides of this one). */
    final void movedAway() {
        head = readNode = tail = flushNode = null;
    }

    /** Reader: frees the nodes from {@code from} up to {@code to}, which stays. */
    final void freeBefore(Node from, Node to) {
        for (Node n = from; n != to; ) {
            Node next = n.next();
            free(n);
            n = next;
        }
    }

    /**
     * Reader: returns a node's chunk to the pool and keeps the node for the writer ({@link #spare}),
     * without its chunk: a spare kept on an idle connection would otherwise keep the chunk's memory
     * reachable after the pool dropped it (trimmed, or over its bound), and the garbage collector could
     * never return it to the OS. The writer may still hold the node as its tail, but never touches the
     * chunk of a node with no room left, which a freed node is (consumed up to {@code cap}, or sealed).
     */
    private void free(Node n) {
        endLoan(n.chunk);
        n.chunk.release();
        n.chunk = null;
        SPARE.setRelease(this, n);
    }

    /**
     * Writer: {@code k} comes fresh from the pool into this buffer. A view some other buffer left on
     * it (see {@link Chunk#view}) is dropped here, so a chunk in use keeps no other buffer reachable;
     * this buffer's own is kept, to be re-pointed again. Nobody else holds the chunk, and this
     * buffer's reader sees it only once it is linked.
     */
    final void claim(Chunk k) {
        if (k.viewOwner != this && k.viewOwner != null) {
            k.dropView();
        }
    }

    /** This buffer's view of {@code k}, if it owns it, is no longer its caller's (see {@link Chunk#view}). */
    final void endLoan(Chunk k) {
        if (k.viewOwner == this) {
            k.viewLent = false;
        }
    }

    /** With nothing readable: step past consumed sealed nodes that have a successor. */
    private static Node settle(Node n) {
        while (n.finished()) {
            Node next = n.next();
            if (next == null || next == Node.TOMBSTONE) {
                break;
            }
            n = next;
        }
        return n;
    }

    // ------------------------------------------------------------------------------------ writer

    /**
     * Writer: a node for {@link #link}, as {@code new Node(...)} would make it, reusing the
     * {@link #spare} the reader left if there is one. Not from the {@link NodeCache}: a chain the
     * writer builds of many nodes at once is read faster when its nodes are fresh, adjacent objects
     * than when they are recycled ones scattered over the heap (measured: FrameParseBenchmark's
     * 64 KiB frames, where the source buffer holds 128 nodes at a time).
     */
    final Node newNode(Chunk chunk, int from, int to, int cap, boolean readOnly) {
        Node s = takeSpare();
        if (s == null) {
            return new Node(chunk, from, to, cap, readOnly);
        }
        return s.reuse(chunk, from, to, cap, readOnly);
    }

    /** The calling thread's {@link NodeCache}. */
    final NodeCache nodeCache() {
        NodeCache last = nodeCache;
        NodeCache c = NodeCache.local(last);
        if (c != last) {
            nodeCache = c;
        }
        return c;
    }

    /**
     * Writer: takes the {@link #spare} node, if any, and mends the writer's references to it, so that
     * nothing refers to it any more; null if there is none.
     */
    final Node takeSpare() {
        Node s = (Node) SPARE.getAcquire(this);
        if (s == null) {
            return null;
        }
        // a plain store: the link that publishes the reused node orders it before the reader's next free
        spare = null;
        if (s == tail) {
            // the reader freed the last node (its next is the tombstone): link starts a new chain
            tail = null;
            flushNode = null;
        } else if (s == flushNode) {
            // freed with a successor, which holds this writer's unflushed bytes
            flushNode = s.next();
        }
        return s;
    }

    /** Links {@code nd} after the tail, or starts a new chain if the reader freed the tail. */
    final void link(Node nd) {
        Node t = tail;
        // a tombstone is final, so seeing one spares the CAS that would fail (the usual case on a
        // connection: the reader freed the last node after consuming everything)
        if (t == null || t.next() == Node.TOMBSTONE || !t.linkNext(nd)) {
            // empty chain, or the reader freed the sealed last node: head last, with a release store,
            // which release() reads with an acquire (nd may be the node the reader freed, reset)
            readNode = nd;
            flushNode = nd;
            HEAD.setRelease(this, nd);
        } else if (t.isSealed() || flushNode == null) {
            flushNode = nd;
        }
        tail = nd;
    }

    /**
     * Publishes the written bytes to the reader: {@link Writer#flush()}. Writer thread. The publication
     * is a release store, which a reader's {@link #len()} (or any read) sees with everything written
     * before it; it is no full fence: a handshake that reads another thread's flag right after a flush
     * and needs that read ordered after it adds {@code VarHandle.fullFence()}.
     */
    public void flush() {
        open();
        if (unflushed == 0 && flushNode == tail) {
            return;
        }
        long delta = 0;
        Node t = tail;
        for (Node nd = flushNode; nd != null; nd = nd == t ? null : nd.next()) {
            delta += nd.malloc - nd.end;
        }
        if (written - (long) CONSUMED.getAcquire(this) + delta > Integer.MAX_VALUE) {
            // len() is an int: past it the count would wrap and the bytes be lost without a word
            throw new IllegalStateException("a LinkBuffer holds at most " + Integer.MAX_VALUE
                    + " readable bytes; consume (or send) some before flushing more (nothing was flushed)");
        }
        for (Node nd = flushNode; nd != null; nd = nd == t ? null : nd.next()) {
            nd.end = nd.malloc;
            if (nd != t) {
                nd.seal();
            }
        }
        flushNode = t;
        unflushed = 0;
        WRITTEN.setRelease(this, written + delta); // see written: no fence here
    }

    /**
     * Writer: flushes, then declares the last node finished, so that once everything is consumed
     * {@link #release()} frees it and the buffer holds no memory. The next write starts a new node.
     */
    public void seal() {
        flush();
        Node t = tail;
        if (t != null) {
            t.seal();
        }
    }

    // ---------------------------------------------------------------------------- kernel I/O

    /**
     * Writer: reserves {@code size} bytes of fresh memory for a {@code readv} and writes up to
     * {@code maxIov} iovecs ({@code {void* base; size_t len}}, 16 bytes each) at {@code iovAddress}
     * through {@code iov}. Returns the iovec count. Call {@link #bookAck} next, whatever the read did:
     * booking again first is an {@link IllegalStateException}, and an {@code iov} without room for
     * the iovecs an {@link IllegalArgumentException} (nothing is booked then).
     */
    public int book(int size, ByteBuffer iov, int maxIov) {
        open();
        if (size <= 0 || maxIov <= 0) {
            throw new IllegalArgumentException("book(" + size + ", maxIov=" + maxIov + ")");
        }
        if (booking != null && booking.active()) {
            throw new IllegalStateException("book() again before bookAck()");
        }
        int count = (int) Math.min(maxIov, ((long) size + BufferPool.MAX_CHUNK - 1) / BufferPool.MAX_CHUNK);
        checkIov(iov, count);
        if (booking == null) {
            booking = new Booking();
        }
        try {
            booking.reserve(pool, size, count, iov);
        } catch (Throwable e) {
            booking.freeAll(); // a failed book() books nothing: the next one may try again
            throw e;
        }
        return count;
    }

    /**
     * Writer: the {@code readv} after {@link #book} delivered {@code n} bytes (0 for EOF or EAGAIN).
     * Links the filled chunks, frees the rest, publishes the bytes and seals the last node. More than
     * was booked is an {@link IllegalArgumentException} that leaves the booking as it was.
     */
    public void bookAck(int n) {
        open();
        checkSize(n);
        Booking b = booking;
        long bookedBytes = b == null ? 0 : b.bytes();
        if (n > bookedBytes) {
            // nothing changes: the caller may still ack the right count, or close() frees the booking
            throw new IllegalArgumentException("bookAck(" + n + ") exceeds the " + bookedBytes + " booked bytes");
        }
        int left = n;
        for (int i = 0, count = b == null ? 0 : b.count(); i < count; i++) {
            Chunk c = b.take(i);
            if (left > 0) {
                claim(c);
                int k = Math.min(left, c.capacity());
                link(newNode(c, 0, k, c.capacity(), false));
                unflushed += k;
                left -= k;
            } else {
                c.release();
            }
        }
        if (b != null) {
            b.done();
        }
        if (n > 0) {
            seal();
        }
    }

    /**
     * Reader: describes up to {@code maxIov} chunks of readable bytes (at most {@code maxBytes}) as
     * iovecs for a {@code writev}; returns the count. {@link #iovBytes()} tells how many bytes they
     * cover. After the write, {@link #skip} what was written and {@link #release()}.
     */
    public int fillIov(ByteBuffer iov, int maxIov, long maxBytes) {
        open();
        if (maxIov < 0 || maxBytes < 0) {
            throw new IllegalArgumentException("fillIov(maxIov=" + maxIov + ", maxBytes=" + maxBytes + ")");
        }
        checkIov(iov, maxIov);
        int l = readerLen();
        iovBytes = 0;
        if (l == 0) {
            return 0;
        }
        long limit = Math.min(l, maxBytes);
        Node c = current();
        int count = 0;
        int total = 0;
        while (count < maxIov && total < limit) {
            int k = (int) Math.min(c.readable(), limit - total);
            if (k > 0) {
                iov.putLong(count * 16, c.chunk.address + c.read);
                iov.putLong(count * 16 + 8, k);
                count++;
                total += k;
            }
            if (total < limit) {
                c = c.next();
            }
        }
        iovBytes = total;
        return count;
    }

    /** The iovec array must be native memory in the machine's byte order with room (to its limit) for {@code count}. */
    private static void checkIov(ByteBuffer iov, int count) {
        if (!iov.isDirect() || iov.order() != java.nio.ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("iovecs need a direct buffer in native byte order");
        }
        if (iov.limit() < 16L * count) {
            throw new IllegalArgumentException("room for " + iov.limit() / 16 + " iovecs, not " + count);
        }
    }

    /** Bytes covered by the iovecs of the last {@link #fillIov}. */
    public long iovBytes() {
        open();
        return iovBytes;
    }

    // ------------------------------------------------------------------------------------ life

    /**
     * Frees every node, readable or not, and makes every later call fail. Neither side may be in use.
     * Idempotent.
     */
    public void close() {
        if (isClosed()) {
            return;
        }
        // a release store: no thread may use the buffer while it closes, so a later call sees this
        // through whatever ordered it after close() (a volatile store would only add a fence)
        WRITTEN.setRelease(this, CLOSED);
        freeScratch();
        if (booking != null) {
            booking.freeAll();
        }
        Node n = head;
        while (n != null && n != Node.TOMBSTONE) {
            Node next = n.next();
            Chunk k = n.chunk;
            if (k.viewOwner == this) {
                k.dropView();
            }
            k.release();
            n = next;
        }
        head = readNode = tail = flushNode = null;
        spare = null;
        nodeCache = null;
        unflushed = 0;
    }

    /** Whether {@link #close()} has run. Any thread. */
    public boolean isClosed() {
        return (long) WRITTEN.getVolatile(this) == CLOSED;
    }
}
