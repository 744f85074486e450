package io.netpoll.error;

/** No route to the network or host (ENETUNREACH, EHOSTUNREACH). */
public final class UnreachableException extends SyscallException {
    private static final long serialVersionUID = 1L;

    public UnreachableException(String call, int errno, String errnoName, String description) {
        super(call, errno, errnoName, description);
    }

    public UnreachableException(String call, String address, int errno, String errnoName, String description) {
        super(call, address, errno, errnoName, description);
    }
}
