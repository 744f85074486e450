package io.netpoll.error;

/** Nothing listens at the address (ECONNREFUSED). */
public final class ConnectionRefusedException extends SyscallException {
    private static final long serialVersionUID = 1L;

    public ConnectionRefusedException(String call, String address, int errno, String errnoName, String description) {
        super(call, address, errno, errnoName, description);
    }
}
