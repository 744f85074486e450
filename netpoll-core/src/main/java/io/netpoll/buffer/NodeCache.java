package io.netpoll.buffer;

import io.netpoll.poll.PollerThread;

/**
 * Node objects that no chain refers to any more, kept per thread for {@link LinkBuffer#slice}: a
 * proxy (or an echo) that slices one buffer and appends the slices to another then allocates no node
 * objects in steady state. Only memory-free node objects live here (40 bytes each, their chunk
 * reference cleared); the off-heap memory is the pool's business.
 *
 * <p>Nodes enter from {@link LinkBuffer#append} when it adopts the appended buffer's nodes: the
 * writer has no use then for the node its reader freed last (the buffer's spare), takes it (which
 * leaves no reference to it) and gives it here, with any node of the appended buffer that held no
 * readable byte. Other sources were measured and not kept: nodes of closed buffers, nodes readers
 * free, and handing cached nodes to writers. With those, slices and chains were built of recycled
 * objects scattered over the old generation, and FrameParseBenchmark's 64 KiB slices ran 12-45 ns
 * (10-35%) slower than with fresh, adjacent ones, for 80-120 bytes less per frame.
 *
 * <p>Thread-confined: only the owning thread touches its cache. A poller thread keeps its cache in a
 * field of the thread; any other thread in a {@link ThreadLocal}.
 */
final class NodeCache {
    /** Nodes kept at most: an append gives one or two; more would only hold heap. */
    private static final int SLOTS = 16;
    private static final ThreadLocal<NodeCache> LOCAL = ThreadLocal.withInitial(NodeCache::new);

    /** The thread this cache belongs to: only it may use the cache. */
    final Thread owner = Thread.currentThread();
    private final Node[] nodes = new Node[SLOTS];
    private int count;

    private NodeCache() {
    }

    /**
     * This thread's cache, through {@code last}, the cache a buffer used last: a buffer is usually
     * used from the same thread or two, and comparing the owner is cheaper than a {@link ThreadLocal}
     * lookup. {@code last} may be another thread's (or null): then this looks the cache up.
     */
    static NodeCache local(NodeCache last) {
        return last != null && last.owner == Thread.currentThread() ? last : local();
    }

    /** This thread's cache. */
    static NodeCache local() {
        if (Thread.currentThread() instanceof PollerThread t) {
            Object o = t.nodeCache;
            if (o != null) {
                return (NodeCache) o;
            }
            NodeCache c = new NodeCache();
            t.nodeCache = c;
            return c;
        }
        return LOCAL.get();
    }

    /** A node over {@code [from, to)} of {@code chunk}, as {@code new Node(...)} makes it, reused if one is cached. */
    Node node(Chunk chunk, int from, int to, int cap, boolean readOnly) {
        if (count == 0) {
            return new Node(chunk, from, to, cap, readOnly);
        }
        Node n = nodes[--count];
        nodes[count] = null;
        return n.reuse(chunk, from, to, cap, readOnly);
    }

    /** Keeps {@code n}, which nothing refers to any more (see the class comment), if there is room. */
    void give(Node n) {
        n.chunk = null; // the memory went back to its pool; a stale use fails at once
        if (count < SLOTS) {
            nodes[count++] = n;
        }
    }
}
