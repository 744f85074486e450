package io.netpoll;

/**
 * Runs first for each new connection, on the accepting thread, before any other callback: set
 * timeouts, attach state. An exception closes the connection.
 */
@FunctionalInterface
public interface OnPrepare {
    void onPrepare(Connection connection) throws Exception;
}
