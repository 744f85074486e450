package io.netpoll.buffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One link of a {@link LinkBuffer}: a window {@code [read, end)} of readable bytes in a
 * {@link Chunk}, with room up to {@code cap} for the writer.
 *
 * <pre>
 * chunk.buf:  ... | consumed | readable (published) | malloc'd, not yet flushed | free | ...
 *                  read ─────┘           end ─────────┘              malloc ──────┘ cap ┘
 * </pre>
 * Ownership between the one reader thread and the one writer thread:
 * <ul>
 *   <li>{@link #read}: reader only.</li>
 *   <li>{@link #malloc}: writer only.</li>
 *   <li>{@link #cap}, {@link #chunk}, {@link #readOnly}: set before the node is linked and never
 *       changed after (until the node is freed and reused), so the reader may read them too.</li>
 *   <li>{@link #end}: written by the writer at flush, before it publishes the buffer's length
 *       (a release store); read by the reader after it reads that length, and never trusted beyond
 *       it.</li>
 *   <li>{@link #sealed}: false while the writer may still raise {@code end}; set once (release
 *       store) by the writer; the reader frees or steps past a node only when it is sealed, and judges
 *       "all consumed" only from the {@code end} it reads after seeing the seal ({@link #finished}),
 *       or when it consumed the node up to {@code cap}: no byte can be added then.</li>
 *   <li>{@link #next}: null → a node (writer, CAS) or null → {@link #TOMBSTONE} (reader, CAS, when
 *       it frees this node as the last one); exactly one of the two CASes wins. A chain that no
 *       other thread can see yet (a slice being built) is linked with plain writes.</li>
 * </ul>
 */
final class Node {
    /** Marks a last node the reader has freed; the writer then starts a new chain. */
    static final Node TOMBSTONE = new Node();

    private static final VarHandle NEXT;
    private static final VarHandle SEALED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            NEXT = l.findVarHandle(Node.class, "next", Node.class);
            SEALED = l.findVarHandle(Node.class, "sealed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Set by the writer before the node is linked (at creation or {@link #reuse}). */
    Chunk chunk;
    /** Memory shared with another buffer or the caller: never written through this node. */
    boolean readOnly;
    int read;
    int end;
    int malloc;
    int cap;
    /**
     * {@code next} and {@code sealed} are read and written through {@link #NEXT} and {@link #SEALED}
     * with the access modes the list above gives, and plainly only while no other thread can see the
     * node ({@link #reuse}, {@link #moveOut}, {@link #linkNextPrivate}): not declared volatile, so
     * those plain writes stay plain stores (the JIT compiles them smaller than a VarHandle call).
     */
    private Node next;
    private boolean sealed;

    private Node() {
        this.chunk = null;
        this.readOnly = true;
    }

    /**
     * A node over {@code [from, to)} of {@code chunk} (malloc'd, not yet published), writable up to
     * {@code cap} unless {@code readOnly}. Takes over one reference to the chunk.
     */
    Node(Chunk chunk, int from, int to, int cap, boolean readOnly) {
        set(chunk, from, to, cap, readOnly);
    }

    /**
     * Makes a freed node into a new one, as the constructor would: its buffer's spare (see
     * {@code NodeChain.spare}) or one from the thread's {@link NodeCache}, which nobody else can
     * still use. Plain writes: linking it publishes them.
     */
    Node reuse(Chunk chunk, int from, int to, int cap, boolean readOnly) {
        set(chunk, from, to, cap, readOnly);
        next = null;
        sealed = false;
        return this;
    }

    /** The window and chunk, as the constructor and {@link #reuse} take them (a new node's link and seal are already clear). */
    private void set(Chunk chunk, int from, int to, int cap, boolean readOnly) {
        this.chunk = chunk;
        this.read = from;
        this.end = from;
        this.malloc = to;
        this.cap = cap;
        this.readOnly = readOnly;
    }

    /**
     * A node that leaves a chain no other thread uses to join another one ({@link LinkBuffer#append}):
     * its readable bytes become unpublished bytes there (flush publishes them again), it is unsealed
     * and unlinked, and it has no room to write. Plain writes: the link that puts it in the new chain
     * publishes them.
     */
    void moveOut() {
        malloc = end;
        cap = end;
        end = read;
        next = null;
        sealed = false;
    }

    Node next() {
        return (Node) NEXT.getAcquire(this);
    }

    /** Writer: link {@code n} after this node; false if the reader freed this node first. */
    boolean linkNext(Node n) {
        return NEXT.compareAndSet(this, null, n);
    }

    /** Links {@code n} in a chain no other thread can see yet (a slice under construction). */
    void linkNextPrivate(Node n) {
        next = n;
    }

    /** Reader: claim this last node for freeing; false if the writer linked a next node first. */
    boolean tombstone() {
        return NEXT.compareAndSet(this, null, TOMBSTONE);
    }

    boolean isSealed() {
        return (boolean) SEALED.getAcquire(this);
    }

    void seal() {
        SEALED.setRelease(this, true);
    }

    /**
     * Reader: no byte of this node is left to read, now or later, so the reader may step past it or
     * free it: it was consumed up to {@code cap} (full, or a read-only node: the writer has no room to
     * add one), or the writer sealed it and every byte was consumed. {@code sealed} is read first: once
     * it is set {@code end} never changes and the acquire makes its last value visible. Read the other
     * way round, {@code end} could be a value from before the writer's last flush and seal, and the
     * reader would free unread bytes. A writer still holding a node freed this way finds no room in it
     * and links a new one (and sees the tombstone if it was the last).
     */
    boolean finished() {
        return read == cap || isSealed() && read == end;
    }

    int readable() {
        return end - read;
    }
}
