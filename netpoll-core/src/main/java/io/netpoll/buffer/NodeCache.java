package io.netpoll.buffer;

import io.netpoll.poll.PollerThread;

/**
 * Node objects that no chain refers to any more, kept per thread so that slices and new chains
 * reuse them instead of allocating: a proxy that slices its input and appends the slices to another
 * connection's output then allocates no node objects in steady state. Only memory-free node
 * objects live here (40 bytes each, their chunk reference cleared); the off-heap memory is the
 * pool's business.
 *
 * <p>A node enters only when no other thread can reach it any more: from {@link NodeChain#close()}
 * (neither side of a buffer may be in use while it closes) and from a writer that takes its own
 * buffer's spare node and has no use for it ({@link LinkBuffer#append}, whose adopted nodes need no
 * new one). Thread-confined: only the owning thread touches its cache. A poller thread keeps its cache
 * in a field of the thread; any other thread in a {@link ThreadLocal}.
 */
final class NodeCache {
    /** Small: one proxy round needs a node or two; more would only hold heap. */
    private static final int SLOTS = 8;
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

    int size() {
        return count;
    }
}
