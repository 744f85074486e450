package io.netpoll.error;

import java.io.IOException;

/**
 * The closed set of errors netpoll reports. Every I/O failure a caller can see is one of these
 * types, each with a stable message:
 *
 * <pre>
 * NetpollException (IOException)
 *  ├─ ConnectionClosedException  "connection closed"    the connection was closed (by you, the peer,
 *  │                                                    an error, idle timeout or shutdown); the cause,
 *  │                                                    if any, says why
 *  ├─ EofException               "EOF"                  the peer finished sending and every byte it sent
 *  │                                                    has been read, or a buffer has fewer bytes than asked
 *  ├─ IoTimeoutException         "i/o timeout"          a deadline passed; the connection stays usable
 *  │   ├─ ReadTimeoutException   "read timeout"
 *  │   ├─ WriteTimeoutException  "write timeout"
 *  │   ├─ DialTimeoutException   "dial timeout"
 *  │   └─ IdleTimeoutException   "idle timeout"         (the cause when an idle connection is closed)
 *  ├─ ConcurrentAccessException  "concurrent access"    two threads used a one-at-a-time operation at once
 *  ├─ UnsupportedException       "unsupported: ..."     a network or option this build does not support
 *  ├─ LimitExceededException     "limit exceeded: ..."  input longer than a limit the application set
 *  └─ SyscallException           "call: description (ENAME)"   the kernel refused a call
 *      ├─ ConnectionRefusedException  ECONNREFUSED
 *      ├─ ConnectionResetException    ECONNRESET, EPIPE
 *      └─ UnreachableException        ENETUNREACH, EHOSTUNREACH
 * </pre>
 * Programming errors (negative sizes, use of a released buffer) are {@link IllegalArgumentException}
 * and {@link IllegalStateException}; a platform netpoll cannot run on is {@link UnsupportedPlatformException}.
 */
public abstract sealed class NetpollException extends IOException
        permits ConnectionClosedException, EofException, IoTimeoutException, ConcurrentAccessException,
        UnsupportedException, LimitExceededException, SyscallException {
    private static final long serialVersionUID = 1L;

    NetpollException(String message, Throwable cause) {
        super(message, cause);
    }
}
