package io.netpoll;

/**
 * Handles input on a connection. netpoll's contract: it runs while the connection has unread input,
 * never twice at once on one connection, and again when more input arrives after it returns. If it
 * returns without consuming anything, it is not called again until more input arrives (no spin).
 * An exception is logged and closes the connection (netpoll ignores it; we do not).
 */
@FunctionalInterface
public interface OnRequest {
    void onRequest(Connection connection) throws Exception;
}
