package io.netpoll.error;

/** The peer reset the connection (ECONNRESET), or it is gone and a write hit a broken pipe (EPIPE). */
public final class ConnectionResetException extends SyscallException {
    private static final long serialVersionUID = 1L;

    public ConnectionResetException(String call, String address, int errno, String errnoName, String description) {
        super(call, address, errno, errnoName, description);
    }
}
