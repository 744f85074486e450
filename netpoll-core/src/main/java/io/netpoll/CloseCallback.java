package io.netpoll;

/** Runs once after a connection closed and no call on it is in progress; see {@link Connection#addCloseCallback}. */
@FunctionalInterface
public interface CloseCallback {
    void onClose(Connection connection);
}
