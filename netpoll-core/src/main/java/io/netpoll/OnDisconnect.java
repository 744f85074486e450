package io.netpoll;

/**
 * Runs once when a connection stops being active (peer closed or reset, closed locally, timed out),
 * on the handler executor, possibly while a handler is still running: use it to cancel work for the
 * connection. Close callbacks run later, when no call on the connection is in progress.
 */
@FunctionalInterface
public interface OnDisconnect {
    void onDisconnect(Connection connection);
}
