package io.netpoll;

/**
 * Handles input on a connection. netpoll's contract: it runs while the connection has unread input,
 * never twice at once on one connection, and again when more input arrives after it returns. If it
 * returns without consuming anything, it is not called again until more input arrives (no spin).
 * An exception is logged and closes the connection (netpoll ignores it; we do not): at WARNING
 * (logger {@code io.netpoll.conn}), except the peer leaving, which is logged at DEBUG as the
 * connection's end ({@link io.netpoll.error.ConnectionResetException} from a read or a flush, or
 * {@link io.netpoll.error.ConnectionClosedException} after a reset or a close; see
 * {@link io.netpoll.conn.NetConnection#endedByPeerOrClose}).
 */
@FunctionalInterface
public interface OnRequest {
    void onRequest(Connection connection) throws Exception;
}
