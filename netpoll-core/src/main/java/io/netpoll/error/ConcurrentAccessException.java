package io.netpoll.error;

/**
 * Two threads used an operation that admits one caller at a time (two concurrent flushes, or two
 * blocking reads on one connection). Nothing was written or consumed by the call that failed.
 */
public final class ConcurrentAccessException extends NetpollException {
    private static final long serialVersionUID = 1L;

    public ConcurrentAccessException() {
        super("concurrent access", null);
    }
}
