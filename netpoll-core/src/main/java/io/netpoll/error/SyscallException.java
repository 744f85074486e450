package io.netpoll.error;

/**
 * The kernel refused a system call. The message is stable:
 * {@code "<call>: <description> (<ERRNO NAME>)"}, e.g. {@code "connect: connection refused (ECONNREFUSED)"}.
 * Built only by {@code io.netpoll.sys.Errno}, the one place where errno values become exceptions.
 */
public sealed class SyscallException extends NetpollException
        permits ConnectionRefusedException, ConnectionResetException, UnreachableException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;
    private final String errnoName;

    public SyscallException(String call, int errno, String errnoName, String description) {
        super(call + ": " + description + " (" + errnoName + ")", null);
        this.call = call;
        this.errno = errno;
        this.errnoName = errnoName;
    }

    /** The C function that failed, e.g. {@code "connect"}. */
    public String call() {
        return call;
    }

    /** The errno value (Linux numbering). */
    public int errno() {
        return errno;
    }

    /** The errno's symbolic name, e.g. {@code "ECONNREFUSED"}. */
    public String errnoName() {
        return errnoName;
    }
}
