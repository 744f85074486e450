package io.netpoll.buffer;

import io.netpoll.error.EofException;

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
 * kernel read and after every completed send), so an idle connection costs no buffer memory. The
 * node's memory goes back to the pool; the small object that described it (40 bytes on heap) is kept
 * for the writer's next node, so steady traffic allocates no node objects either. When
 * {@link #append} adopts a slice's nodes instead, the writer's kept object goes to a small per-thread
 * cache that {@link #slice} draws on: slicing a connection's input and appending the slices to
 * another's output (a proxy, an echo) allocates at most the slice's own object. The
 * {@code ByteBuffer} views that {@link #next} and {@link #peek} return are re-pointed after
 * {@link #release()} instead of made anew (one per chunk, see {@link Reader}), so frame parsing
 * allocates no view either.
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
public final class LinkBuffer extends NodeChain implements Reader, Writer, AutoCloseable {
    /** Chunk size for small writes: big enough for a typical response, small enough to pool well. */
    static final int DEFAULT_NODE_SIZE = 4096;
    /** Below this, writeDirect copies: referencing costs a node, copying small data is cheaper. */
    static final int DIRECT_THRESHOLD = 4096;

    /** An empty buffer drawing memory from the default pool. */
    public LinkBuffer() {
        this(BufferPool.defaultPool());
    }

    /** An empty buffer drawing memory from {@code pool}. */
    public LinkBuffer(BufferPool pool) {
        super(pool);
    }

    @Override
    public ByteBuffer next(int n) throws EofException {
        need(n);
        if (n == 0) {
            return ByteBuffer.allocate(0);
        }
        Node c = current();
        if (c.readable() >= n) {
            ByteBuffer view = view(c, n);
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
            return view(c, n);
        }
        return assemble(n);
    }

    /** Copies the next n bytes (spanning nodes) into scratch memory freed at release(). */
    private ByteBuffer assemble(int n) {
        Chunk s = pool.allocate(n);
        holdScratch(s);
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
        NodeCache nodes = n == 0 ? null : nodeCache();
        while (left > 0) {
            int k = Math.min(c.readable(), left);
            if (k > 0) {
                c.chunk.retain();
                Node copy = nodes.node(c.chunk, c.read, c.read + k, c.read + k, true);
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

    /** A node with room for {@code n} contiguous bytes at its malloc index. */
    private Node writable(int n) {
        Node t = tail;
        if (t != null && !t.readOnly && t.cap - t.malloc >= n && !t.isSealed()) {
            return t;
        }
        Chunk c = pool.allocate(Math.max(n, DEFAULT_NODE_SIZE));
        claim(c);
        Node nd = newNode(c, 0, 0, c.capacity(), false);
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
        if (n == 0) {
            return ByteBuffer.allocate(0); // the tail may be a node the reader freed, with no chunk
        }
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
        if (n == 0) {
            return; // the tail may be a node the reader freed, with no chunk
        }
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
        link(newNode(c, 0, len, len, true));
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
                    link(newNode(c.chunk, c.read, c.read + k, c.read + k, true));
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
        other.freeBefore(other.head, first);
        other.movedAway();
        NodeCache nodes = nodeCache();
        // the adopted nodes take the place of new ones: this writer's spare goes where slices find it
        Node spare = takeSpare();
        if (spare != null) {
            nodes.give(spare);
        }
        for (Node nd = first; nd != null; ) {
            Node next = nd == last ? null : nd.next();
            other.endLoan(nd.chunk); // other's views end with this call (see append)
            if (nd.readable() > 0) {
                nd.moveOut();
                link(nd);
            } else {
                nd.chunk.release();
                nodes.give(nd); // out of other's chain, and other is this thread's alone
            }
            nd = next;
        }
        return true;
    }

    @Override
    public String toString() {
        return isClosed() ? "LinkBuffer[closed]" : "LinkBuffer[len=" + len() + " unflushed=" + unflushed + "]";
    }
}
