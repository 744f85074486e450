package io.netpoll.poll;

import io.netpoll.error.SyscallException;
import io.netpoll.sys.Errno;
import io.netpoll.sys.LibC;
import io.netpoll.sys.Linux;
import io.netpoll.sys.NativeBuffer;
import io.netpoll.sys.Sys;
import io.netpoll.timer.Timeout;
import io.netpoll.timer.TimerWheel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One reactor: one thread, one epoll fd, an eventfd to wake it, a multi-producer task queue, and a
 * {@link TimerWheel} it ticks itself (1 ms ticks).
 *
 * <p>The loop: compute how long it may sleep (0 when tasks are queued, else until the next timer
 * tick, else forever), {@code epoll_wait}, hand each event to its {@link PollDesc}'s handler, advance
 * the timers, run queued tasks. The event array starts at 256 entries and doubles (up to 8192)
 * whenever a wait fills it.
 *
 * <p>Wake-ups are deduplicated by {@link #wakeState}: a producer writes the eventfd only when it
 * moves the poller from SLEEPING to SIGNALLED, so a burst of submissions costs one write, and
 * submissions while the poller is awake cost none.
 *
 * <p>{@link #close} stops the loop, asks every registered descriptor's handler to release itself
 * ({@link PollDesc.Handler#onPollerClosed}), then closes the epoll fd and the eventfd.
 */
public final class Poller implements Executor, AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.netpoll.poll");

    /** Timer resolution; matches epoll_wait's millisecond timeout. */
    public static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final int WHEEL_SIZE = 512;
    private static final int INITIAL_EVENTS = 256;
    private static final int MAX_EVENTS = 8192;
    private static final int TASKS_PER_ROUND = 1024;
    private static final int EPOLL_INTEREST = Linux.EPOLLIN | Linux.EPOLLOUT | Linux.EPOLLRDHUP | Linux.EPOLLET;
    private static final int PAGE_BITS = 10;
    private static final int PAGE_SIZE = 1 << PAGE_BITS;

    /*
     * wakeState: AWAKE    the loop is running; producers need not signal (it re-checks before sleeping)
     *            SLEEPING the loop is in or about to enter epoll_wait; set by the poller itself
     *            SIGNALLED a producer moved SLEEPING here and writes the eventfd; set by producers only
     * The poller moves any state to AWAKE when epoll_wait returns, and AWAKE to SLEEPING before it.
     */
    private static final int AWAKE = 0;
    private static final int SLEEPING = 1;
    private static final int SIGNALLED = 2;

    /* runState: RUNNING → CLOSING (close(), any thread) → CLOSED (poller thread, after cleanup). */
    private static final int RUNNING = 0;
    private static final int CLOSING = 1;
    private static final int CLOSED = 2;

    private final LibC libc = Sys.libc();
    private final String name;
    private final int epfd;
    private final int eventfd;
    private final PollerThread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final TimerWheel timers;
    private final AtomicInteger wakeState = new AtomicInteger(AWAKE);
    /**
     * Held around every eventfd write and around its close, with {@link #eventfdClosed}: a producer
     * that won SLEEPING → SIGNALLED just before the poller shut down (or {@code close()}, which forces
     * SLEEPING) must not write 8 bytes into whatever file reuses the fd number. Taken once per
     * wake-up write, not per task.
     */
    private final Object eventfdLock = new Object();
    private boolean eventfdClosed;
    private final AtomicInteger runState = new AtomicInteger(RUNNING);
    /**
     * Held by {@link #add} (the state check, the table write and EPOLL_CTL_ADD) and by the close's
     * scan of the table: a descriptor is either added before the scan, which then releases it, or
     * refused (EBADF) because the poller is closing; never added unseen, its fd leaked.
     */
    private final Object registration = new Object();
    private final AtomicInteger nextTag = new AtomicInteger(1);
    private final CountDownLatch terminated = new CountDownLatch(1);
    /** Descriptor table indexed by fd, in pages that never move; the outer array is copy-on-write. */
    private volatile AtomicReferenceArray<PollDesc>[] pages;
    private final NativeBuffer one = new NativeBuffer(8);
    private final NativeBuffer drain = new NativeBuffer(8);
    private final NativeBuffer ctl = new NativeBuffer(16);
    /** Scratch for iovec arrays, for code running on this poller's thread only. */
    private final NativeBuffer iovScratch = new NativeBuffer(IOV_SCRATCH_ENTRIES * 16);
    /** Max iovecs in {@link #iovScratch()}. */
    public static final int IOV_SCRATCH_ENTRIES = 1024;
    private NativeBuffer events;
    private int eventCapacity;
    /** When the poller plans to wake for its next timer tick (nanoTime), or Long.MAX_VALUE; 0 while awake. */
    private volatile long plannedWake;
    /**
     * batch: counts the loop's batches for the {@link StallDetector}. Odd while the poller handles a
     * batch (incremented when epoll_wait returns), even while it waits (incremented when the batch
     * ends); moved by the poller thread only, with opaque stores (no fence on the hot path), read by
     * the detector. An odd value the detector sees twice, 100 ms apart, is one batch still running.
     */
    private long batch;
    private static final VarHandle BATCH;
    /** Poller thread only: System.nanoTime() of the current batch, read on first use; 0 = not read yet. */
    private long batchTime;

    static {
        try {
            BATCH = MethodHandles.lookup().findVarHandle(Poller.class, "batch", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unchecked")
    public Poller(String name) throws SyscallException {
        this.name = name;
        this.epfd = Errno.check("epoll_create1", libc.epollCreate1(Linux.EPOLL_CLOEXEC));
        int efd = libc.eventfd(0, Linux.EFD_NONBLOCK | Linux.EFD_CLOEXEC);
        if (efd < 0) {
            libc.close(epfd);
            throw Errno.exception("eventfd", -efd);
        }
        this.eventfd = efd;
        this.one.putLong(0, 1L);
        this.pages = new AtomicReferenceArray[0];
        this.eventCapacity = INITIAL_EVENTS;
        this.events = new NativeBuffer(eventCapacity * Sys.epollEventSize());
        this.thread = new PollerThread(this, name);
        this.timers = new TimerWheel(TICK_NANOS, WHEEL_SIZE, System.nanoTime(),
                e -> logError(name + ": timer task failed", e));
        this.timers.setOwner(thread);
        int r = ctl(Linux.EPOLL_CTL_ADD, eventfd, Linux.EPOLLIN | Linux.EPOLLET, 0L);
        if (r < 0) {
            libc.close(eventfd);
            libc.close(epfd);
            throw Errno.exception("epoll_ctl", -r);
        }
        thread.start();
    }

    private synchronized int ctl(int op, int fd, int interest, long data) {
        ctl.putInt(0, interest);
        ctl.putLong(Sys.epollDataOffset(), data);
        return libc.epollCtl(epfd, op, fd, ctl.address());
    }

    public String name() {
        return name;
    }

    public PollerThread thread() {
        return thread;
    }

    /** True when called on this poller's thread. */
    public boolean inEventLoop() {
        return Thread.currentThread() == thread;
    }

    /** The poller whose thread is calling, or {@code null}. */
    public static Poller current() {
        return Thread.currentThread() instanceof PollerThread t ? t.poller() : null;
    }

    /**
     * Scratch native memory for {@value #IOV_SCRATCH_ENTRIES} iovecs, for code on this poller's
     * thread (reads and sends the poller performs). Not for other threads.
     */
    public NativeBuffer iovScratch() {
        return iovScratch;
    }

    /**
     * Registers {@code fd} once, edge-triggered, for reading and writing, and returns its
     * descriptor. Events go to {@code handler} on this poller's thread. Safe from any thread.
     */
    public PollDesc register(int fd, PollDesc.Handler handler) throws SyscallException {
        PollDesc pd = newDesc(fd, handler);
        add(pd);
        return pd;
    }

    /**
     * A descriptor for {@code fd} that is not registered yet: store it where the handler will look
     * for it, then {@link #add} it, so no event can reach the handler before it can find its
     * descriptor.
     */
    public PollDesc newDesc(int fd, PollDesc.Handler handler) {
        int tag = nextTag.getAndIncrement();
        if (tag == 0) {
            tag = nextTag.getAndIncrement();
        }
        return new PollDesc(fd, this, tag, handler);
    }

    /** Adds a descriptor from {@link #newDesc} to epoll (once, edge-triggered, in and out). */
    public void add(PollDesc pd) throws SyscallException {
        if (pd.poller != this) {
            throw new IllegalArgumentException(pd + " belongs to " + pd.poller);
        }
        int fd = pd.fd;
        synchronized (registration) {
            if (runState.get() != RUNNING) {
                throw Errno.exception("epoll_ctl", Errno.EBADF);
            }
            page(fd).set(fd & (PAGE_SIZE - 1), pd);
            if (pd.isClosing()) {
                // closed meanwhile (its close sets the flag, then unregisters): whether that unregister
                // ran before the table write or not, the descriptor must not stay registered
                page(fd).compareAndSet(fd & (PAGE_SIZE - 1), pd, null);
                throw Errno.exception("epoll_ctl", Errno.EBADF);
            }
            int r = ctl(Linux.EPOLL_CTL_ADD, fd, EPOLL_INTEREST, ((long) pd.tag << 32) | (fd & 0xffffffffL));
            if (r < 0) {
                page(fd).compareAndSet(fd & (PAGE_SIZE - 1), pd, null);
                throw Errno.exception("epoll_ctl", -r);
            }
        }
    }

    /** Drops {@code pd} from the table; later events for its fd and tag are ignored. */
    void unregister(PollDesc pd) {
        AtomicReferenceArray<PollDesc>[] p = pages;
        int i = pd.fd >>> PAGE_BITS;
        if (i < p.length) {
            p[i].compareAndSet(pd.fd & (PAGE_SIZE - 1), pd, null);
        }
    }

    private AtomicReferenceArray<PollDesc> page(int fd) {
        int i = fd >>> PAGE_BITS;
        AtomicReferenceArray<PollDesc>[] p = pages;
        if (i < p.length) {
            return p[i];
        }
        return growPages(i);
    }

    @SuppressWarnings("unchecked")
    private synchronized AtomicReferenceArray<PollDesc> growPages(int index) {
        AtomicReferenceArray<PollDesc>[] p = pages;
        if (index >= p.length) {
            AtomicReferenceArray<PollDesc>[] n = java.util.Arrays.copyOf(p, Math.max(index + 1, p.length * 2));
            for (int j = p.length; j < n.length; j++) {
                n[j] = new AtomicReferenceArray<>(PAGE_SIZE);
            }
            pages = n;
            p = n;
        }
        return p[index];
    }

    private PollDesc lookup(int fd) {
        AtomicReferenceArray<PollDesc>[] p = pages;
        int i = fd >>> PAGE_BITS;
        return i < p.length ? p[i].get(fd & (PAGE_SIZE - 1)) : null;
    }

    /**
     * Runs {@code task} on this poller's thread, after the current event batch. From the poller
     * thread itself it is queued too (never run inline). Tasks submitted after close are dropped.
     */
    @Override
    public void execute(Runnable task) {
        tasks.add(task);
        if (!inEventLoop()) {
            wakeup();
        }
    }

    /** Schedules {@code task} on this poller's timer wheel at an absolute nanoTime deadline. */
    public Timeout schedule(long deadlineNanos, Runnable task) {
        Timeout t = timers.schedule(deadlineNanos, task);
        if (!inEventLoop() && deadlineNanos - plannedWake < 0) {
            wakeup();
        }
        return t;
    }

    private void wakeup() {
        if (wakeState.get() == SLEEPING && wakeState.compareAndSet(SLEEPING, SIGNALLED)) {
            synchronized (eventfdLock) {
                if (!eventfdClosed) {
                    libc.write(eventfd, one.address(), 8);
                }
            }
        }
    }

    /**
     * Poller thread only: a {@link System#nanoTime()} reading taken once per batch, on the first call
     * in it (a batch that never asks reads no clock); as stale as the batch is long.
     */
    public long loopTime() {
        long t = batchTime;
        if (t == 0) {
            t = System.nanoTime();
            batchTime = t;
        }
        return t;
    }

    /** The batch counter: odd while the poller handles a batch, even while it waits (see {@link #batch}). */
    long batchCount() {
        return (long) BATCH.getOpaque(this);
    }

    void loop() {
        try {
            while (runState.get() == RUNNING) {
                int timeoutMs = sleepMillis();
                int n = libc.epollWait(epfd, events.address(), eventCapacity, timeoutMs);
                wakeState.set(AWAKE);
                plannedWake = 0;
                batchTime = 0;
                BATCH.setOpaque(this, batch + 1);
                if (n < 0) {
                    if (n == -Errno.EINTR) {
                        BATCH.setOpaque(this, batch + 1);
                        continue;
                    }
                    throw Errno.exception("epoll_wait", -n);
                }
                dispatch(n);
                if (n == eventCapacity && eventCapacity < MAX_EVENTS) {
                    eventCapacity *= 2;
                    events = new NativeBuffer(eventCapacity * Sys.epollEventSize());
                }
                if (!timers.idle()) {
                    timers.advance(System.nanoTime());
                }
                runTasks();
                BATCH.setOpaque(this, batch + 1);
            }
        } catch (Throwable e) {
            logError(name + ": poller loop failed", e);
        } finally {
            shutdownOnThread();
        }
    }

    /**
     * Logs a failure caught on the poller thread. Logging itself may fail (out of file descriptors,
     * a logging backend that opens files lazily throws an Error); that must never end the loop, whose
     * exit closes every registered descriptor (for an acceptor: the listener).
     */
    private static void logError(String message, Throwable e) {
        try {
            LOG.log(System.Logger.Level.ERROR, message, e);
        } catch (Throwable ignored) {
            // nothing safer to report it with
        }
    }

    private int sleepMillis() {
        if (!tasks.isEmpty()) {
            return 0;
        }
        // no timers (the common case without deadlines): no clock read
        boolean noTimers = timers.idle();
        long now = noTimers ? 0 : System.nanoTime();
        long untilTick = noTimers ? -1 : timers.nanosUntilNextTick(now);
        plannedWake = untilTick < 0 ? Long.MAX_VALUE : now + untilTick;
        wakeState.set(SLEEPING);
        // re-check after publishing SLEEPING: a producer that saw AWAKE did not signal
        if (!tasks.isEmpty() || runState.get() != RUNNING
                || (noTimers ? !timers.idle() : timers.nanosUntilNextTick(now) != untilTick)) {
            return 0;
        }
        if (untilTick < 0) {
            return -1;
        }
        return (int) Math.min(Integer.MAX_VALUE, (untilTick + TICK_NANOS - 1) / TICK_NANOS);
    }

    private void dispatch(int n) {
        NativeBuffer ev = events;
        int size = Sys.epollEventSize();
        int dataOffset = Sys.epollDataOffset();
        for (int i = 0; i < n; i++) {
            int base = i * size;
            int mask = ev.getInt(base);
            long data = ev.getLong(base + dataOffset);
            int tag = (int) (data >>> 32);
            int fd = (int) data;
            if (tag == 0) {
                libc.read(eventfd, drain.address(), 8);
                continue;
            }
            PollDesc pd = lookup(fd);
            if (pd == null || pd.tag != tag) {
                continue; // a late event for a closed (and maybe reused) fd
            }
            try {
                pd.handler.onEvents(pd, mask);
            } catch (Throwable e) {
                logError(name + ": handler for fd " + fd + " failed", e);
            }
        }
    }

    private void runTasks() {
        for (int i = 0; i < TASKS_PER_ROUND; i++) {
            Runnable t = tasks.poll();
            if (t == null) {
                return;
            }
            try {
                t.run();
            } catch (Throwable e) {
                logError(name + ": task failed", e);
            }
        }
    }

    /** Timer-wheel entries not yet expired (poller thread; for tests and metrics). */
    public int pendingTimers() {
        if (!inEventLoop()) {
            throw new IllegalStateException("pendingTimers() off the poller thread: run it through execute()");
        }
        return timers.pending();
    }

    /** True until {@link #close} is called. */
    public boolean isRunning() {
        return runState.get() == RUNNING;
    }

    /**
     * Stops the loop and releases everything: every registered descriptor's handler is asked to
     * release it, queued tasks run once more, then the epoll fd and eventfd are closed. Waits up to
     * 5 seconds for the poller thread (not when called on it). Idempotent.
     */
    @Override
    public void close() {
        if (runState.compareAndSet(RUNNING, CLOSING)) {
            wakeState.set(SLEEPING);
            wakeup();
        }
        if (!inEventLoop()) {
            try {
                terminated.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits until the poller thread has finished cleaning up. */
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return terminated.await(timeout, unit);
    }

    private void shutdownOnThread() {
        List<PollDesc> live = new ArrayList<>();
        synchronized (registration) {
            runState.set(CLOSING);
            for (AtomicReferenceArray<PollDesc> page : pages) {
                for (int i = 0; i < PAGE_SIZE; i++) {
                    PollDesc pd = page.get(i);
                    if (pd != null) {
                        live.add(pd);
                    }
                }
            }
        }
        for (PollDesc pd : live) {
            try {
                pd.handler.onPollerClosed(pd);
            } catch (Throwable e) {
                logError(name + ": releasing fd " + pd.fd + " failed", e);
            }
        }
        runTasks();
        synchronized (eventfdLock) {
            eventfdClosed = true;
            libc.close(eventfd);
        }
        libc.close(epfd);
        runState.set(CLOSED);
        terminated.countDown();
        Runnable t;
        while ((t = tasks.poll()) != null) {
            LOG.log(System.Logger.Level.DEBUG, name + ": dropped a task submitted after close: " + t);
        }
    }

    @Override
    public String toString() {
        return "Poller[" + name + "]";
    }
}
