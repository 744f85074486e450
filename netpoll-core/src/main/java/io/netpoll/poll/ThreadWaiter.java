package io.netpoll.poll;

import java.io.InterruptedIOException;
import java.util.concurrent.locks.LockSupport;

/**
 * A platform or virtual thread parked in a {@link WaitWord}. One per wait; {@link #wake} may run on
 * any thread, before or after {@link #await} starts.
 */
public final class ThreadWaiter implements Waiter {
    private final Thread thread = Thread.currentThread();
    /** false until {@link #wake}; set once, read by the parked thread. */
    private volatile boolean woken;

    @Override
    public void wake() {
        woken = true;
        LockSupport.unpark(thread);
    }

    /**
     * Parks the calling thread until {@link #wake}. If the thread is interrupted while parked, the
     * waiter is cancelled from {@code word}; if that cancel wins, throws
     * {@link InterruptedIOException} (the interrupt status stays set), otherwise the wake already
     * happened and the wait completes normally.
     */
    public void await(WaitWord word) throws InterruptedIOException {
        boolean interrupted = false;
        while (!woken) {
            LockSupport.park(this);
            if (Thread.interrupted()) {
                if (!interrupted && word.cancel(this)) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for I/O");
                }
                // the unblocker took us and is about to wake us: park again (the flag is clear, so
                // park blocks until its unpark) and restore the interrupt status afterwards
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "ThreadWaiter[" + thread.getName() + "]";
    }
}
