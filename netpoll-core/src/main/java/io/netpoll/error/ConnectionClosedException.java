package io.netpoll.error;

/**
 * An operation on a connection that is closed or closing. {@link #getCause()} is the error that
 * closed it (a {@link ConnectionResetException}, an idle timeout, ...) or {@code null} when it was
 * closed normally.
 */
public final class ConnectionClosedException extends NetpollException {
    private static final long serialVersionUID = 1L;

    public ConnectionClosedException() {
        super("connection closed", null);
    }

    public ConnectionClosedException(Throwable cause) {
        super("connection closed", cause);
    }
}
