package io.netpoll;

/**
 * Runs once per new connection on the handler executor, after {@link OnPrepare} and before the first
 * {@link OnRequest} (which waits for it). It may write (a greeting) or read. An exception closes the
 * connection and is logged as {@link OnRequest} says.
 */
@FunctionalInterface
public interface OnConnect {
    void onConnect(Connection connection) throws Exception;
}
