package io.netpoll.error;

/**
 * The connection saw no traffic in either direction for its idle timeout and was closed; it is the
 * cause of the {@link ConnectionClosedException} that later calls get.
 */
public final class IdleTimeoutException extends IoTimeoutException {
    private static final long serialVersionUID = 1L;

    public IdleTimeoutException() {
        super("idle timeout");
    }
}
