package io.netpoll.buffer;

import io.netpoll.poll.Poller;
import io.netpoll.poll.PollerThread;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;

/**
 * The off-heap memory behind every {@link LinkBuffer}: chunks of eleven size classes (powers of two
 * from 1 KiB to 1 MiB) kept for reuse, plus unpooled chunks for single requests above 1 MiB. Large
 * classes keep big reads and big frames in one contiguous chunk (a view of a whole 64 KiB frame
 * needs no copy).
 *
 * <p><b>Where chunks live.</b> A shared stack per size class (a short lock per push or pop of a
 * batch, which also covers that class's accounting, so a chunk taken or given back costs that lock
 * and no other atomic), and on each poller thread a small private cache for the classes up to 64 KiB (no lock at
 * all) that refills from and spills to the shared stacks in batches. Chunks freed on one thread may
 * be reused on another.
 *
 * <p><b>Bounds.</b> The shared stacks hold at most {@link #maxPooledBytes()} (system property
 * {@code netpoll.buffer.maxPooledBytes}, default 64 MiB, for the default pool); past that, freed
 * chunks are dropped and the garbage collector returns their memory to the OS. {@link #trim()}
 * drops every shared chunk that stayed unused since the previous trim, and
 * {@link #trimThreadCache()} hands an idle poller's cache back to them; servers call both once a
 * second, so an idle pool shrinks to nothing within about four seconds (a poller's cache is handed
 * back at the second tick after its last use, and its chunks are dropped two ticks later).
 *
 * <p><b>Safety.</b> A chunk's memory is a direct {@link ByteBuffer}; every view handed out by a
 * reader keeps it reachable, so memory is never returned to the OS while a view of it exists. A view
 * used after {@code release()} is a bug in the caller: views are re-pointed flyweights (see
 * {@link Reader}), and only with {@code -Dnetpoll.buffer.reuseViews=false} does a stale view read
 * nothing but reused bytes of its own chunk. With
 * {@code -Dnetpoll.buffer.poison=true} every chunk is overwritten with {@code 0xDE} when it is
 * freed, so a use after release shows up as garbage in tests.
 *
 * <p><b>Accounting</b> ({@link #bytesInUse()}, {@link #bytesPooled()}) is exact whenever no
 * thread is allocating or freeing, which is what tests and metrics need.
 */
public final class BufferPool {
    static final int UNPOOLED = -1;
    static final int EXTERNAL = -2;
    /** Smallest and largest pooled chunk. */
    public static final int MIN_CHUNK = 1024;
    public static final int MAX_CHUNK = 1024 * 1024;
    static final int CLASSES = 11;
    /** Classes below this are cached per poller thread; larger ones always use the shared stacks. */
    private static final int CACHED_CLASSES = 7;
    /** Per poller-thread cache capacity, in chunks, per cached class (1 to 64 KiB): about 900 KiB at most. */
    private static final int[] CACHE_SLOTS = {64, 32, 32, 16, 8, 4, 4};
    private static final int POISON_BLOCK = 64 * 1024;
    static final boolean POISON = Boolean.getBoolean("netpoll.buffer.poison");
    static final byte POISON_BYTE = (byte) 0xDE;
    private static final ByteBuffer POISON_SOURCE;

    static {
        POISON_SOURCE = ByteBuffer.allocateDirect(POISON_BLOCK);
        for (int i = 0; i < POISON_BLOCK; i++) {
            POISON_SOURCE.put(i, POISON_BYTE);
        }
    }

    private static final BufferPool DEFAULT = new BufferPool(
            Long.getLong("netpoll.buffer.maxPooledBytes", 64L << 20));

    private final long maxPooledBytes;
    private final Stack[] stacks = new Stack[CLASSES];
    /** Unpooled chunks (above {@link #MAX_CHUNK}) handed out and freed; pooled ones count in their stack. */
    private final LongAdder unpooledAllocated = new LongAdder();
    private final LongAdder unpooledFreed = new LongAdder();
    /** The counts of the caches of poller threads that have ended. */
    private final LongAdder retiredAllocated = new LongAdder();
    private final LongAdder retiredFreed = new LongAdder();
    private final CopyOnWriteArrayList<Cache> caches = new CopyOnWriteArrayList<>();

    /** A pool whose shared stacks keep at most {@code maxPooledBytes}. */
    public BufferPool(long maxPooledBytes) {
        if (maxPooledBytes < 0) {
            throw new IllegalArgumentException("maxPooledBytes must not be negative: " + maxPooledBytes);
        }
        this.maxPooledBytes = maxPooledBytes;
        for (int i = 0; i < CLASSES; i++) {
            stacks[i] = new Stack(classSize(i));
        }
    }

    /** The process-wide pool every buffer uses unless given another. */
    public static BufferPool defaultPool() {
        return DEFAULT;
    }

    /** The most free memory the shared stacks keep, as given to the constructor. */
    public long maxPooledBytes() {
        return maxPooledBytes;
    }

    static int classSize(int sizeClass) {
        return MIN_CHUNK << sizeClass;
    }

    /** The size class for a request of {@code size} bytes (1..MAX_CHUNK). */
    static int classOf(int size) {
        if (size <= MIN_CHUNK) {
            return 0;
        }
        return 32 - Integer.numberOfLeadingZeros(size - 1) - 10;
    }

    /** A chunk of at least {@code size} bytes: pooled up to 1 MiB, exactly sized above. */
    Chunk allocate(int size) {
        if (size > MAX_CHUNK) {
            Chunk c = new Chunk(ByteBuffer.allocateDirect(size), UNPOOLED, this);
            unpooledAllocated.add(size);
            return c;
        }
        int cls = classOf(size);
        Cache cache = cls < CACHED_CLASSES ? localCache() : null;
        if (cache != null) {
            return cache.allocate(cls);
        }
        Chunk c = stacks[cls].pop();
        if (c == null) {
            return newChunk(cls);
        }
        c.reset();
        return c;
    }

    private Chunk newChunk(int cls) {
        return new Chunk(ByteBuffer.allocateDirect(classSize(cls)), cls, this);
    }

    /** A chunk over caller memory (never pooled, never poisoned, not counted). */
    Chunk wrap(ByteBuffer external) {
        return new Chunk(external, EXTERNAL, this);
    }

    /** Called by {@link Chunk#release} when the last node let go. */
    void recycle(Chunk c) {
        if (c.sizeClass == EXTERNAL) {
            return;
        }
        if (POISON) {
            poison(c);
        }
        if (c.sizeClass == UNPOOLED) {
            unpooledFreed.add(c.capacity());
            return;
        }
        Cache cache = c.sizeClass < CACHED_CLASSES ? localCache() : null;
        if (cache != null) {
            cache.free(c);
            return;
        }
        pushShared(c, true);
    }

    /**
     * Gives {@code c} to its shared stack, or drops it (the garbage collector has it) when the stacks
     * are at the bound. {@code freed}: it comes from a buffer (counted as freed), not from a cache.
     */
    private void pushShared(Chunk c, boolean freed) {
        // a racy sum (the old check was one too): the bound is kept within a few chunks
        boolean keep = sharedPooledBytes() + c.capacity() <= maxPooledBytes;
        // pooled chunks keep 0 references until handed out again (reset there), so a second release
        // of one throws rather than pooling it twice
        stacks[c.sizeClass].push(c, keep, freed);
    }

    private long sharedPooledBytes() {
        long n = 0;
        for (Stack s : stacks) {
            n += s.get(Stack.POOLED);
        }
        return n;
    }

    private static void poison(Chunk c) {
        ByteBuffer b = c.buf;
        int cap = b.capacity();
        for (long off = 0; off < cap; off += POISON_BLOCK) { // long: a chunk near 2 GiB must not wrap
            b.put((int) off, POISON_SOURCE, 0, (int) Math.min(POISON_BLOCK, cap - off));
        }
    }

    /** The calling poller thread's cache of this pool, made on first use; null off poller threads. */
    private Cache localCache() {
        if (!(Thread.currentThread() instanceof PollerThread t)) {
            return null;
        }
        Object o = t.bufferCache;
        if (o instanceof Cache c) {
            return c.pool == this ? c : null;
        }
        if (o != null) {
            return null;
        }
        Cache c = new Cache(this);
        t.bufferCache = c;
        caches.add(c);
        t.onExit(() -> retire(c));
        return c;
    }

    /** A poller thread ends: its cache goes back to the shared stacks, its counts into the retired ones. */
    private void retire(Cache c) {
        c.flush();
        retiredAllocated.add(c.allocatedBytes());
        retiredFreed.add(c.freedBytes());
        caches.remove(c);
    }

    /** Bytes of pooled and unpooled chunks handed out and not yet freed. */
    public long bytesInUse() {
        long n = unpooledAllocated.sum() - unpooledFreed.sum() + retiredAllocated.sum() - retiredFreed.sum();
        for (Stack s : stacks) {
            n += s.get(Stack.ALLOCATED) - s.get(Stack.FREED);
        }
        for (Cache c : caches) {
            n += c.allocatedBytes() - c.freedBytes();
        }
        return n;
    }

    /** Bytes of free chunks kept for reuse (shared stacks and poller caches). */
    public long bytesPooled() {
        long n = sharedPooledBytes();
        for (Cache c : caches) {
            n += c.cachedBytes();
        }
        return n;
    }

    /**
     * Drops every shared chunk that was not used since the previous call, and on a poller thread
     * also hands that thread's cache back to the shared stacks. Safe from any thread.
     */
    public void trim() {
        Cache cache = localCache();
        if (cache != null) {
            cache.flush();
        }
        for (Stack s : stacks) {
            s.trim();
        }
    }

    /**
     * A server's once-a-second trim: {@link #trim()} here, and {@link #trimThreadCache()} on each of
     * {@code pollers}' threads (queued to them), so idle pollers' caches come back too.
     */
    public void trim(List<Poller> pollers) {
        trim();
        for (Poller p : pollers) {
            p.execute(this::trimThreadCache);
        }
    }

    /**
     * On a poller thread: hands that thread's cache back to the shared stacks if no chunk went
     * through it since this thread's previous call (an idle poller's cache would keep up to about
     * 900 KiB for ever otherwise); a busy poller keeps its cache. Elsewhere it does nothing. Servers
     * call it on each poller once a second through {@link #trim(List)}.
     */
    public void trimThreadCache() {
        if (Thread.currentThread() instanceof PollerThread t && t.bufferCache instanceof Cache c && c.pool == this) {
            if (!c.used) {
                c.flush();
            }
            c.used = false;
        }
    }

    /**
     * A size class's shared free chunks and their accounting; all fields guarded by the stack's
     * monitor. The byte counters are written with opaque stores so they can be summed from any
     * thread without the lock.
     */
    private static final class Stack {
        private static final java.lang.invoke.VarHandle LONGS =
                java.lang.invoke.MethodHandles.arrayElementVarHandle(long[].class);
        /** Bytes of the chunks in this stack. */
        static final int POOLED = 0;
        /** Bytes handed out straight from this stack (or newly made for it), and given back to it. */
        static final int ALLOCATED = 1;
        static final int FREED = 2;

        private final int chunkSize;
        private final long[] bytes = new long[3];
        private Chunk[] items = new Chunk[16];
        private int size;
        /** The smallest size since the last trim: that many chunks were never needed. */
        private int lowWater;

        Stack(int chunkSize) {
            this.chunkSize = chunkSize;
        }

        long get(int which) {
            return (long) LONGS.getOpaque(bytes, which);
        }

        private void add(int which, long delta) {
            LONGS.setOpaque(bytes, which, bytes[which] + delta);
        }

        /** Keeps {@code c} unless {@code !keep}; counts it as freed if {@code freed}. */
        synchronized void push(Chunk c, boolean keep, boolean freed) {
            if (freed) {
                add(FREED, chunkSize);
            }
            if (!keep) {
                return;
            }
            if (size == items.length) {
                items = java.util.Arrays.copyOf(items, size * 2);
            }
            items[size++] = c;
            add(POOLED, chunkSize);
        }

        /** A chunk handed out (counted as allocated); null if the stack is empty (make one). */
        synchronized Chunk pop() {
            add(ALLOCATED, chunkSize);
            if (size == 0) {
                return null;
            }
            Chunk c = items[--size];
            items[size] = null;
            if (size < lowWater) {
                lowWater = size;
            }
            add(POOLED, -chunkSize);
            return c;
        }

        /** Pops up to {@code max} chunks into {@code out} (for a cache); returns how many. */
        synchronized int popBatch(Chunk[] out, int max) {
            int n = Math.min(max, size);
            for (int i = 0; i < n; i++) {
                out[i] = items[--size];
                items[size] = null;
            }
            if (size < lowWater) {
                lowWater = size;
            }
            add(POOLED, -(long) n * chunkSize);
            return n;
        }

        synchronized void trim() {
            int drop = Math.min(lowWater, size);
            for (int i = 0; i < drop; i++) {
                items[--size] = null;
            }
            add(POOLED, -(long) drop * chunkSize);
            lowWater = size;
        }
    }

    /**
     * A poller thread's private chunks. Only the owner thread mutates it; the byte counters are
     * written with opaque stores so {@link #bytesInUse()} can sum them from any thread.
     */
    private static final class Cache {
        private static final java.lang.invoke.VarHandle LONGS =
                java.lang.invoke.MethodHandles.arrayElementVarHandle(long[].class);
        private static final int ALLOCATED = 0;
        private static final int FREED = 1;
        private static final int CACHED = 2;

        final BufferPool pool;
        private final Chunk[][] slots = new Chunk[CACHED_CLASSES][];
        private final int[] counts = new int[CACHED_CLASSES];
        /** ALLOCATED, FREED, CACHED bytes; written by the owner only. */
        private final long[] bytes = new long[3];
        /** Owner only: a chunk went through this cache since the last {@link #trimThreadCache()}. */
        boolean used;

        Cache(BufferPool pool) {
            this.pool = pool;
            for (int i = 0; i < CACHED_CLASSES; i++) {
                slots[i] = new Chunk[CACHE_SLOTS[i]];
            }
        }

        private void add(int which, long delta) {
            LONGS.setOpaque(bytes, which, bytes[which] + delta);
        }

        long allocatedBytes() {
            return (long) LONGS.getOpaque(bytes, ALLOCATED);
        }

        long freedBytes() {
            return (long) LONGS.getOpaque(bytes, FREED);
        }

        long cachedBytes() {
            return (long) LONGS.getOpaque(bytes, CACHED);
        }

        Chunk allocate(int cls) {
            int size = classSize(cls);
            used = true;
            add(ALLOCATED, size);
            if (counts[cls] == 0) {
                int got = pool.stacks[cls].popBatch(slots[cls], slots[cls].length / 2);
                counts[cls] = got;
                add(CACHED, (long) got * size);
                if (got == 0) {
                    return pool.newChunk(cls);
                }
            }
            Chunk c = slots[cls][--counts[cls]];
            slots[cls][counts[cls]] = null;
            add(CACHED, -size);
            c.reset();
            return c;
        }

        void free(Chunk c) {
            int cls = c.sizeClass;
            int size = c.capacity();
            used = true;
            add(FREED, size);
            Chunk[] s = slots[cls];
            if (counts[cls] == s.length) {
                spill(cls, s.length / 2);
            }
            s[counts[cls]++] = c;
            add(CACHED, size);
        }

        private void spill(int cls, int n) {
            Chunk[] s = slots[cls];
            for (int i = 0; i < n && counts[cls] > 0; i++) {
                Chunk c = s[--counts[cls]];
                s[counts[cls]] = null;
                add(CACHED, -c.capacity());
                pool.pushShared(c, false);
            }
        }

        void flush() {
            for (int cls = 0; cls < CACHED_CLASSES; cls++) {
                spill(cls, counts[cls]);
            }
        }

    }
}
