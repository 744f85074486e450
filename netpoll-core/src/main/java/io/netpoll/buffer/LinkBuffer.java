package io.netpoll.buffer;

import io.netpoll.error.EofException;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * A chain of off-heap {@link Node}s that one thread writes and another reads, without copying:
 * the kernel reads into it ({@link #book}/{@link #bookAck}) and writes out of it ({@link #fillIov}),
 * slices and appends share memory by reference count, and views point straight into it.
 *
 * <pre>
 *   head ──▶ [consumed] ──▶ [readNode: read … end] ──▶ … ──▶ [tail: end … malloc … cap]
 *   └─ freed by release() ─┘  └──── readable: len() bytes ────┘      └ unflushed ┘
 * </pre>
 *
 * <p><b>Memory.</b> An empty buffer holds no node: {@link #release()} frees every consumed node,
 * including the last one once the writer has sealed it (the connection layer seals after every
 * kernel read and after every completed send), so an idle connection costs no buffer memory.
 *
 * <p><b>Threads.</b> One reader thread and one writer thread may use a buffer at the same time.
 * They meet only at {@link #len()} (the difference of two counters, each with a single writing
 * thread: bytes published, which the writer raises at flush, and bytes consumed, which the reader
 * raises as it consumes, so neither side needs an atomic read-modify-write), at each node's
 * {@code sealed} flag, and at the last node's {@code next} link (see {@link Node}). Two readers, or two writers, at once are not safe; neither is {@link #close()}
 * while either side is in use, nor {@link #append} of a buffer another thread still uses.
 *
 * <p><b>Errors.</b> Reading past {@link #len()} throws {@link EofException} and consumes nothing;
 * negative sizes throw {@link IllegalArgumentException}; any call after {@link #close()} throws
 * {@link IllegalStateException}.
 */
public final class LinkBuffer implements Reader, Writer, AutoCloseable {
    /** Chunk size for small writes: big enough for a typical response, small enough to pool well. */
    static final int DEFAULT_NODE_SIZE = 4096;
    /** Below this, writeDirect copies: referencing costs a node, copying small data is cheaper. */
    static final int DIRECT_THRESHOLD = 4096;

    /** {@link #written} of a closed buffer. */
    private static final long CLOSED = Long.MIN_VALUE;

    private static final VarHandle WRITTEN;
    private static final VarHandle CONSUMED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            WRITTEN = l.findVarHandle(LinkBuffer.class, "written", long.class);
            CONSUMED = l.findVarHandle(LinkBuffer.class, "consumed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final BufferPool pool;

    /**
     * Bytes published since creation. Written by the writer only, at flush, with a volatile store, so
     * that a flush and the writer's next volatile read are not reordered: the connection's send
     * handshake needs that (the writer flushes, then reads the send state; the reader stores the send
     * state, then reads {@link #len()}). {@link #CLOSED} once closed, so the check every call makes
     * for that is the same load as the length's.
     */
    private long written;
    /**
     * Bytes consumed since creation. Written by the reader only, with release stores (the reader reads
     * it plainly; other threads read it with acquire); never above {@link #written}.
     */
    private long consumed;

    // reader side
    private Node head;
    private Node readNode;
    /** Scratch chunks of assembled views, freed at release(): the non-null prefix. */
    private Chunk[] scratch;
    /** Bytes described by the last {@link #fillIov}. */
    private int iovBytes;

    // writer side
    private Node tail;
    /** First node that may hold unflushed bytes. */
    private Node flushNode;
    private int unflushed;
    /** The chunks of a {@link #book} until its {@link #bookAck}; made at the first book(). */
    private Booking booking;

    /** An empty buffer drawing memory from the default pool. */
    public LinkBuffer() {
        this(BufferPool.defaultPool());
    }

    /** An empty buffer drawing memory from {@code pool}. */
    public LinkBuffer(BufferPool pool) {
        this.pool = pool;
    }

    public BufferPool pool() {
        return pool;
    }

    private void open() {
        if ((long) WRITTEN.getAcquire(this) == CLOSED) {
            throw closedError();
        }
    }

    private static IllegalStateException closedError() {
        return new IllegalStateException("LinkBuffer is closed");
    }

    private static void checkSize(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative size: " + n);
        }
    }

    // ------------------------------------------------------------------------------------ reader

    @Override
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
    private int readerLen() {
        long w = (long) WRITTEN.getAcquire(this);
        if (w == CLOSED) {
            throw closedError();
        }
        return (int) (w - consumed);
    }

    /** Throws unless {@code n} bytes are readable. */
    private void need(int n) throws EofException {
        int l = readerLen();
        checkSize(n);
        if (n > l) {
            throw new EofException(n, l);
        }
    }

    private void consumed(int n) {
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
    private Node current() {
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

    @Override
    public ByteBuffer next(int n) throws EofException {
        need(n);
        if (n == 0) {
            return ByteBuffer.allocate(0);
        }
        Node c = current();
        if (c.readable() >= n) {
            ByteBuffer view = c.chunk.buf.slice(c.read, n);
            c.read += n;
            consumed(n);
            return view;
        }
        ByteBuffer view = assemble(n);
        skipUnchecked(n);
        return view;
    }

    @Override
    public ByteBuffer peek(int n) throws EofException {
        need(n);
        if (n == 0) {
            return ByteBuffer.allocate(0);
        }
        Node c = current();
        if (c.readable() >= n) {
            return c.chunk.buf.slice(c.read, n);
        }
        return assemble(n);
    }

    /** Copies the next n bytes (spanning nodes) into scratch memory freed at release(). */
    private ByteBuffer assemble(int n) {
        Chunk s = pool.allocate(n);
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
        ByteBuffer out = s.buf.slice(0, n);
        Node c = readNode;
        int pos = c.read;
        int done = 0;
        while (done < n) {
            int k = Math.min(c.end - pos, n - done);
            if (k > 0) {
                out.put(done, c.chunk.buf, pos, k);
                done += k;
            }
            if (done < n) {
                c = c.next();
                pos = c.read;
            }
        }
        return out;
    }

    @Override
    public void skip(int n) throws EofException {
        need(n);
        if (n > 0) {
            skipUnchecked(n);
        }
    }

    private void skipUnchecked(int n) {
        advance(n);
        consumed(n);
    }

    /** Reader: steps the read position {@code n} readable bytes on (they are there); no accounting. */
    private void advance(int n) {
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

    @Override
    public ByteBuffer until(byte delim) throws EofException {
        open();
        int i = indexOf(delim, 0);
        if (i < 0) {
            int l = readerLen();
            throw new EofException(l + 1, l);
        }
        return next(i + 1);
    }

    @Override
    public int indexOf(byte delim, int from) {
        open();
        checkSize(from);
        int l = readerLen();
        if (from >= l) {
            return -1;
        }
        Node c = current();
        int offset = 0;
        while (true) {
            int avail = Math.min(c.readable(), l - offset);
            if (from < offset + avail) {
                ByteBuffer b = c.chunk.buf;
                int start = c.read + Math.max(0, from - offset);
                int stop = c.read + avail;
                for (int i = start; i < stop; i++) {
                    if (b.get(i) == delim) {
                        return offset + (i - c.read);
                    }
                }
            }
            offset += avail;
            if (offset >= l) {
                return -1;
            }
            c = c.next();
        }
    }

    @Override
    public byte peekByte(int offset) {
        int l = readerLen();
        if (offset < 0 || offset >= l) {
            throw new IndexOutOfBoundsException("offset " + offset + " of " + l + " readable bytes");
        }
        Node c = current();
        int skipped = 0;
        while (offset - skipped >= c.readable()) {
            skipped += c.readable();
            c = c.next();
        }
        return c.chunk.buf.get(c.read + offset - skipped);
    }

    @Override
    public int peekInt(int offset) {
        int l = readerLen();
        if (offset < 0 || offset > l - 4) {
            throw new IndexOutOfBoundsException("int at offset " + offset + " of " + l + " readable bytes");
        }
        Node c = current();
        int skipped = 0;
        while (offset - skipped >= c.readable()) {
            skipped += c.readable();
            c = c.next();
        }
        int at = c.read + offset - skipped;
        if (c.end - at >= 4) {
            return c.chunk.buf.getInt(at);
        }
        return (peekByte(offset) & 0xff) << 24 | (peekByte(offset + 1) & 0xff) << 16
                | (peekByte(offset + 2) & 0xff) << 8 | peekByte(offset + 3) & 0xff;
    }

    @Override
    public String readString(int n, Charset charset) throws EofException {
        need(n);
        if (n == 0) {
            return "";
        }
        Node c = current();
        if (c.readable() >= n && charset == StandardCharsets.ISO_8859_1) {
            byte[] b = new byte[n];
            c.chunk.buf.get(c.read, b, 0, n);
            c.read += n;
            consumed(n);
            return new String(b, charset);
        }
        return new String(readBinary(n), charset);
    }

    @Override
    public String readString(int n) throws EofException {
        return readString(n, StandardCharsets.UTF_8);
    }

    @Override
    public byte[] readBinary(int n) throws EofException {
        need(n);
        byte[] out = new byte[n];
        int done = 0;
        Node c = n == 0 ? null : current();
        while (done < n) {
            int k = Math.min(c.readable(), n - done);
            c.chunk.buf.get(c.read, out, done, k);
            c.read += k;
            done += k;
            if (done < n) {
                c = c.next();
            }
        }
        if (c != null) {
            readNode = c;
        }
        consumed(n);
        return out;
    }

    @Override
    public byte readByte() throws EofException {
        need(1);
        Node c = current();
        byte b = c.chunk.buf.get(c.read);
        c.read++;
        consumed(1);
        return b;
    }

    @Override
    public short readShort() throws EofException {
        need(2);
        Node c = current();
        if (c.readable() >= 2) {
            short v = c.chunk.buf.getShort(c.read);
            c.read += 2;
            consumed(2);
            return v;
        }
        return (short) readSpanning(2);
    }

    @Override
    public int readInt() throws EofException {
        need(4);
        Node c = current();
        if (c.readable() >= 4) {
            int v = c.chunk.buf.getInt(c.read);
            c.read += 4;
            consumed(4);
            return v;
        }
        return (int) readSpanning(4);
    }

    @Override
    public long readLong() throws EofException {
        need(8);
        Node c = current();
        if (c.readable() >= 8) {
            long v = c.chunk.buf.getLong(c.read);
            c.read += 8;
            consumed(8);
            return v;
        }
        return readSpanning(8);
    }

    private long readSpanning(int n) throws EofException {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v = (v << 8) | (readByte() & 0xff);
        }
        return v;
    }

    @Override
    public LinkBuffer slice(int n) throws EofException {
        need(n);
        LinkBuffer out = new LinkBuffer(pool);
        int left = n;
        Node c = n == 0 ? null : current();
        while (left > 0) {
            int k = Math.min(c.readable(), left);
            if (k > 0) {
                c.chunk.retain();
                Node copy = new Node(c.chunk, c.read, c.read + k, c.read + k, true);
                out.linkPublished(copy);
                c.read += k;
                left -= k;
            }
            if (left > 0) {
                c = c.next();
            }
        }
        if (c != null) {
            readNode = c;
        }
        consumed(n);
        return out;
    }

    /**
     * Single-threaded construction of a slice: append a node whose bytes are readable at once. No
     * other thread can see this buffer yet (whoever gets it later gets it through a safe hand-off),
     * so plain writes do: no CAS for the link, no atomic add for the length.
     */
    private void linkPublished(Node nd) {
        nd.end = nd.malloc;
        nd.seal();
        if (tail == null) {
            head = readNode = nd;
        } else {
            tail.linkNextPrivate(nd);
        }
        tail = nd;
        flushNode = nd;
        written += nd.end - nd.read;
    }

    private void freeScratch() {
        Chunk[] s = scratch;
        for (int i = 0; s != null && i < s.length && s[i] != null; i++) {
            s[i].release();
            s[i] = null;
        }
    }

    @Override
    public void release() {
        open();
        freeScratch();
        Node n = head;
        Node cur = readNode;
        if (n == null || cur == null) {
            return; // nothing held (or the writer is starting a new chain right now)
        }
        cur = readerLen() > 0 ? current() : settle(cur);
        freeBefore(n, cur);
        head = cur;
        if (!cur.finished()) {
            return;
        }
        // the last node, fully consumed and sealed: free it unless the writer links a successor first
        Node next = cur.next();
        if (next == null) {
            head = null;
            readNode = null;
            if (cur.tombstone()) {
                cur.chunk.release();
                return;
            }
            next = cur.next();
        }
        cur.chunk.release();
        head = next;
        readNode = next;
    }

    /** Frees the nodes from {@code from} up to {@code to}, which stays. */
    private static void freeBefore(Node from, Node to) {
        for (Node n = from; n != to; ) {
            Node next = n.next();
            n.chunk.release();
            n = next;
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

    /** Links {@code nd} after the tail, or starts a new chain if the reader freed the tail. */
    private void link(Node nd) {
        Node t = tail;
        // a tombstone is final, so seeing one spares the CAS that would fail (the usual case on a
        // connection: the reader freed the last node after consuming everything)
        if (t == null || t.next() == Node.TOMBSTONE || !t.linkNext(nd)) {
            // empty chain, or the reader freed the sealed last node: it does not touch head and
            // readNode again before it sees a length this writer publishes after this point
            head = nd;
            readNode = nd;
            flushNode = nd;
        } else if (t.isSealed() || flushNode == null) {
            flushNode = nd;
        }
        tail = nd;
    }

    /** A node with room for {@code n} contiguous bytes at its malloc index. */
    private Node writable(int n) {
        Node t = tail;
        if (t != null && !t.readOnly && t.cap - t.malloc >= n && !t.isSealed()) {
            return t;
        }
        Chunk c = pool.allocate(Math.max(n, DEFAULT_NODE_SIZE));
        Node nd = new Node(c, 0, 0, c.capacity(), false);
        link(nd);
        return nd;
    }

    /** The tail if it has any room, else a new node sized for {@code want} bytes. */
    private Node roomy(int want) {
        Node t = tail;
        if (t != null && !t.readOnly && t.cap > t.malloc && !t.isSealed()) {
            return t;
        }
        return writable(Math.min(want, BufferPool.MAX_CHUNK));
    }

    @Override
    public ByteBuffer malloc(int n) {
        open();
        checkSize(n);
        Node nd = writable(n);
        ByteBuffer view = nd.chunk.buf.slice(nd.malloc, n);
        nd.malloc += n;
        unflushed += n;
        return view;
    }

    @Override
    public int mallocLen() {
        open();
        return unflushed;
    }

    @Override
    public void mallocAck(int n) {
        open();
        checkSize(n);
        if (n > unflushed) {
            throw new IllegalArgumentException("mallocAck(" + n + ") exceeds the " + unflushed + " unflushed bytes");
        }
        int keep = n;
        for (Node nd = flushNode; nd != null; nd = nd == tail ? null : nd.next()) {
            int inNode = nd.malloc - nd.end;
            if (keep >= inNode) {
                keep -= inNode;
            } else {
                nd.malloc = nd.end + keep;
                keep = 0;
            }
        }
        unflushed = n;
    }

    @Override
    public void writeByte(byte b) {
        open();
        Node nd = writable(1);
        nd.chunk.buf.put(nd.malloc, b);
        nd.malloc++;
        unflushed++;
    }

    @Override
    public void writeShort(short v) {
        open();
        Node nd = writable(2);
        nd.chunk.buf.putShort(nd.malloc, v);
        nd.malloc += 2;
        unflushed += 2;
    }

    @Override
    public void writeInt(int v) {
        open();
        Node nd = writable(4);
        nd.chunk.buf.putInt(nd.malloc, v);
        nd.malloc += 4;
        unflushed += 4;
    }

    @Override
    public void writeLong(long v) {
        open();
        Node nd = writable(8);
        nd.chunk.buf.putLong(nd.malloc, v);
        nd.malloc += 8;
        unflushed += 8;
    }

    @Override
    public void writeBinary(byte[] bytes) {
        writeBinary(bytes, 0, bytes.length);
    }

    @Override
    public void writeBinary(byte[] bytes, int off, int len) {
        open();
        checkSize(len);
        java.util.Objects.checkFromIndexSize(off, len, bytes.length);
        int done = 0;
        while (done < len) {
            Node nd = roomy(len - done);
            int k = Math.min(nd.cap - nd.malloc, len - done);
            nd.chunk.buf.put(nd.malloc, bytes, off + done, k);
            nd.malloc += k;
            done += k;
        }
        unflushed += len;
    }

    @Override
    public void writeBuffer(ByteBuffer src) {
        open();
        int len = src.remaining();
        int done = 0;
        int pos = src.position();
        while (done < len) {
            Node nd = roomy(len - done);
            int k = Math.min(nd.cap - nd.malloc, len - done);
            nd.chunk.buf.put(nd.malloc, src, pos + done, k);
            nd.malloc += k;
            done += k;
        }
        src.position(pos + len);
        unflushed += len;
    }

    @Override
    public void writeString(String s) {
        open();
        int n = s.length();
        Node nd = tail;
        // ASCII fast path straight into the tail node, no intermediate array
        if (nd != null && !nd.readOnly && !nd.isSealed() && nd.cap - nd.malloc >= n) {
            ByteBuffer b = nd.chunk.buf;
            int at = nd.malloc;
            int i = 0;
            for (; i < n; i++) {
                char ch = s.charAt(i);
                if (ch >= 0x80) {
                    break;
                }
                b.put(at + i, (byte) ch);
            }
            if (i == n) {
                nd.malloc += n;
                unflushed += n;
                return;
            }
        }
        writeBinary(s.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void writeDirect(ByteBuffer src) {
        open();
        int len = src.remaining();
        if (!src.isDirect() || len < DIRECT_THRESHOLD) {
            writeBuffer(src);
            return;
        }
        Chunk c = pool.wrap(src.slice());
        link(new Node(c, 0, len, len, true));
        src.position(src.limit());
        unflushed += len;
    }

    @Override
    public void append(LinkBuffer other) {
        open();
        if (other == this) {
            throw new IllegalArgumentException("cannot append a buffer to itself");
        }
        int n = other.len();
        if (n == 0) {
            other.release();
            return;
        }
        if (!adoptNodes(other)) {
            Node c = other.current();
            int left = n;
            while (left > 0) {
                int k = Math.min(c.readable(), left);
                if (k > 0) {
                    c.chunk.retain();
                    link(new Node(c.chunk, c.read, c.read + k, c.read + k, true));
                    left -= k;
                }
                if (left > 0) {
                    c = c.next();
                }
            }
            other.advance(n);
        }
        unflushed += n;
        // other is this thread's alone for the call (see the contract), so a plain counter update does
        other.consumed += n;
        other.release();
    }

    /**
     * append's fast path, when {@code other} holds no unflushed or booked bytes (a slice, say): its
     * nodes with readable bytes move to the end of this chain as they are, with no new node and no
     * reference count change, and {@code other} is left with no node. Its consumed nodes are freed as
     * its release() would. False, with nothing changed, when {@code other} does not qualify.
     */
    private boolean adoptNodes(LinkBuffer other) {
        if (other.unflushed != 0 || other.booking != null && other.booking.active()) {
            return false;
        }
        Node first = other.current();
        Node last = other.tail;
        for (Node nd = first; ; nd = nd.next()) {
            if (nd.malloc != nd.end) {
                return false;
            }
            if (nd == last) {
                break;
            }
        }
        freeBefore(other.head, first);
        other.head = other.readNode = other.tail = other.flushNode = null;
        for (Node nd = first; nd != null; ) {
            Node next = nd == last ? null : nd.next();
            if (nd.readable() > 0) {
                nd.moveOut();
                link(nd);
            } else {
                nd.chunk.release();
            }
            nd = next;
        }
        return true;
    }

    @Override
    public void flush() {
        open();
        if (unflushed == 0 && flushNode == tail) {
            return;
        }
        int delta = 0;
        Node t = tail;
        for (Node nd = flushNode; nd != null; nd = nd == t ? null : nd.next()) {
            delta += nd.malloc - nd.end;
            nd.end = nd.malloc;
            if (nd != t) {
                nd.seal();
            }
        }
        flushNode = t;
        unflushed = 0;
        WRITTEN.setVolatile(this, written + delta);
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
        int count = Math.min(maxIov, (size + BufferPool.MAX_CHUNK - 1) / BufferPool.MAX_CHUNK);
        checkIov(iov, count);
        if (booking == null) {
            booking = new Booking();
        }
        booking.reserve(pool, size, count, iov);
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
                int k = Math.min(left, c.capacity());
                link(new Node(c, 0, k, c.capacity(), false));
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

    private static void checkIov(ByteBuffer iov, int count) {
        if (iov.capacity() < 16L * count) {
            throw new IllegalArgumentException("room for " + iov.capacity() / 16 + " iovecs, not " + count);
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
    @Override
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
            n.chunk.release();
            n = next;
        }
        head = readNode = tail = flushNode = null;
        unflushed = 0;
    }

    public boolean isClosed() {
        return (long) WRITTEN.getVolatile(this) == CLOSED;
    }

    @Override
    public String toString() {
        return isClosed() ? "LinkBuffer[closed]" : "LinkBuffer[len=" + len() + " unflushed=" + unflushed + "]";
    }
}
