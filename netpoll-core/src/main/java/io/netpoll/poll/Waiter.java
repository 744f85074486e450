package io.netpoll.poll;

/**
 * Something parked in a {@link WaitWord} that can be resumed: a blocked thread
 * ({@link ThreadWaiter}), a suspended coroutine (the coroutines module), or a task of the poller's
 * own (finishing a send). {@link #wake} is called exactly once, by whoever took the waiter out of the
 * word (an I/O event, a deadline, a close), often on a poller thread: it must not block.
 */
public interface Waiter {
    void wake();
}
