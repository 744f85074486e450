package io.netpoll.error;

/**
 * A deadline passed before the operation could finish. Unlike a {@code CancellationException}, a
 * timeout leaves the connection open and consistent: no byte was lost or duplicated, and the
 * operation may be retried after moving the deadline.
 */
public abstract sealed class IoTimeoutException extends NetpollException
        permits ReadTimeoutException, WriteTimeoutException, DialTimeoutException, IdleTimeoutException {
    private static final long serialVersionUID = 1L;

    IoTimeoutException(String message) {
        super(message, null);
    }
}
