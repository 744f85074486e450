package io.netpoll.error;

/**
 * The kernel refused a system call. The message is stable:
 * {@code "<call>: <description> (<ERRNO NAME>)"}, e.g. {@code "connect: connection refused (ECONNREFUSED)"},
 * or, for a call on an address ({@code bind}, {@code connect}), {@code "<call> <address>: <description>
 * (<ERRNO NAME>)"}, e.g. {@code "bind 127.0.0.1:8080: address already in use (EADDRINUSE)"}.
 * Built only by {@code io.netpoll.sys.Errno}, the one place where errno values become exceptions.
 */
public sealed class SyscallException extends NetpollException
        permits ConnectionRefusedException, ConnectionResetException, UnreachableException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;
    private final String errnoName;
    private final String address;

    /** {@code address}: what the call was about ({@code "127.0.0.1:8080"}), or null. */
    public SyscallException(String call, String address, int errno, String errnoName, String description) {
        super(call + (address == null ? "" : " " + address) + ": " + description + " (" + errnoName + ")", null);
        this.call = call;
        this.address = address;
        this.errno = errno;
        this.errnoName = errnoName;
    }

    /** The C function that failed, e.g. {@code "connect"}. */
    public String call() {
        return call;
    }

    /** The address the call was about, as the message shows it ({@code "[::1]:80"}, a unix path), or null. */
    public String address() {
        return address;
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
