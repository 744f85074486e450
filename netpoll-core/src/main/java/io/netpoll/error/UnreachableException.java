package io.netpoll.error;

/** No route to the network or host, or the host is down (ENETUNREACH, EHOSTUNREACH, EHOSTDOWN). */
public final class UnreachableException extends SyscallException {
    private static final long serialVersionUID = 1L;

    public UnreachableException(String call, String address, int errno, String errnoName, String description) {
        super(call, address, errno, errnoName, description);
    }
}
