package io.netpoll.sys;

import io.netpoll.error.ConnectionRefusedException;
import io.netpoll.error.ConnectionResetException;
import io.netpoll.error.SyscallException;
import io.netpoll.error.UnreachableException;

import java.net.SocketAddress;

/**
 * Linux errno values (the same on x86-64 and aarch64) and the one place where a failed system call
 * becomes an exception ({@link #exception}). {@link LibC} returns {@code -errno}; callers that
 * expect an errno as a normal outcome ({@link #EAGAIN}, {@link #EINPROGRESS}, {@link #EINTR}) test
 * for it before calling {@link #check}.
 */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int EPIPE = 32;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOTDIR = 20;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int ELOOP = 40;
    public static final int ENONET = 64;
    public static final int EPROTO = 71;
    public static final int ENOTSOCK = 88;
    public static final int ENOPROTOOPT = 92;
    public static final int EPROTONOSUPPORT = 93;
    public static final int EOPNOTSUPP = 95;
    public static final int EAFNOSUPPORT = 97;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ENETDOWN = 100;
    public static final int ENETUNREACH = 101;
    public static final int ENETRESET = 102;
    public static final int ECONNABORTED = 103;
    public static final int ECONNRESET = 104;
    public static final int ENOBUFS = 105;
    public static final int EISCONN = 106;
    public static final int ENOTCONN = 107;
    public static final int ETIMEDOUT = 110;
    public static final int ECONNREFUSED = 111;
    public static final int EHOSTDOWN = 112;
    public static final int EHOSTUNREACH = 113;
    public static final int EALREADY = 114;
    public static final int EINPROGRESS = 115;

    private static final String[] NAMES = new String[128];
    private static final String[] TEXT = new String[128];

    static {
        def(EPERM, "EPERM", "operation not permitted");
        def(ENOENT, "ENOENT", "no such file or directory");
        def(EINTR, "EINTR", "interrupted system call");
        def(EIO, "EIO", "input/output error");
        def(EBADF, "EBADF", "bad file descriptor");
        def(EAGAIN, "EAGAIN", "resource temporarily unavailable");
        def(ENOMEM, "ENOMEM", "cannot allocate memory");
        def(EACCES, "EACCES", "permission denied");
        def(EFAULT, "EFAULT", "bad address");
        def(EEXIST, "EEXIST", "file exists");
        def(EINVAL, "EINVAL", "invalid argument");
        def(ENFILE, "ENFILE", "too many open files in system");
        def(EMFILE, "EMFILE", "too many open files");
        def(EPIPE, "EPIPE", "broken pipe");
        def(ENOTDIR, "ENOTDIR", "not a directory");
        def(ENOSPC, "ENOSPC", "no space left on device");
        def(EROFS, "EROFS", "read-only file system");
        def(ENAMETOOLONG, "ENAMETOOLONG", "file name too long");
        def(ELOOP, "ELOOP", "too many levels of symbolic links");
        def(ENONET, "ENONET", "machine is not on the network");
        def(EPROTO, "EPROTO", "protocol error");
        def(ENOTSOCK, "ENOTSOCK", "socket operation on non-socket");
        def(ENOPROTOOPT, "ENOPROTOOPT", "protocol not available");
        def(EPROTONOSUPPORT, "EPROTONOSUPPORT", "protocol not supported");
        def(EOPNOTSUPP, "EOPNOTSUPP", "operation not supported");
        def(EAFNOSUPPORT, "EAFNOSUPPORT", "address family not supported by protocol");
        def(EADDRINUSE, "EADDRINUSE", "address already in use");
        def(EADDRNOTAVAIL, "EADDRNOTAVAIL", "cannot assign requested address");
        def(ENETDOWN, "ENETDOWN", "network is down");
        def(ENETUNREACH, "ENETUNREACH", "network is unreachable");
        def(ENETRESET, "ENETRESET", "network dropped connection on reset");
        def(ECONNABORTED, "ECONNABORTED", "software caused connection abort");
        def(ECONNRESET, "ECONNRESET", "connection reset by peer");
        def(ENOBUFS, "ENOBUFS", "no buffer space available");
        def(EISCONN, "EISCONN", "transport endpoint is already connected");
        def(ENOTCONN, "ENOTCONN", "transport endpoint is not connected");
        def(ETIMEDOUT, "ETIMEDOUT", "connection timed out");
        def(ECONNREFUSED, "ECONNREFUSED", "connection refused");
        def(EHOSTDOWN, "EHOSTDOWN", "host is down");
        def(EHOSTUNREACH, "EHOSTUNREACH", "no route to host");
        def(EALREADY, "EALREADY", "operation already in progress");
        def(EINPROGRESS, "EINPROGRESS", "operation now in progress");
    }

    private Errno() {
    }

    private static void def(int errno, String name, String text) {
        NAMES[errno] = name;
        TEXT[errno] = text;
    }

    /** The symbolic name of an errno value ({@code "ECONNREFUSED"}), or {@code "errno 200"}. */
    public static String name(int errno) {
        return errno > 0 && errno < NAMES.length && NAMES[errno] != null ? NAMES[errno] : "errno " + errno;
    }

    /** The description of an errno value, as {@code strerror} words it. */
    public static String describe(int errno) {
        return errno > 0 && errno < TEXT.length && TEXT[errno] != null ? TEXT[errno] : "unknown error";
    }

    /** The typed exception for {@code call} failing with {@code errno}. */
    public static SyscallException exception(String call, int errno) {
        return exception(call, null, errno);
    }

    /**
     * The typed exception for {@code call} on {@code address} (null: none) failing with {@code errno};
     * the message names the address ({@link SockAddr#format}).
     */
    public static SyscallException exception(String call, SocketAddress address, int errno) {
        String at = address == null ? null : SockAddr.format(address);
        String name = name(errno);
        String text = describe(errno);
        return switch (errno) {
            case ECONNREFUSED -> new ConnectionRefusedException(call, at, errno, name, text);
            case ECONNRESET, EPIPE -> new ConnectionResetException(call, at, errno, name, text);
            case ENETUNREACH, EHOSTUNREACH, EHOSTDOWN -> new UnreachableException(call, at, errno, name, text);
            default -> new SyscallException(call, at, errno, name, text);
        };
    }

    /** Returns {@code result} when it is not negative, else throws {@link #exception(String, SocketAddress, int)} for {@code -result}. */
    public static int check(String call, SocketAddress address, int result) throws SyscallException {
        if (result < 0) {
            throw exception(call, address, -result);
        }
        return result;
    }

    /** Returns {@code result} when it is not negative, else throws {@link #exception} for {@code -result}. */
    public static int check(String call, int result) throws SyscallException {
        if (result < 0) {
            throw exception(call, -result);
        }
        return result;
    }

    /** Returns {@code result} when it is not negative, else throws {@link #exception} for {@code -result}. */
    public static long check(String call, long result) throws SyscallException {
        if (result < 0) {
            throw exception(call, (int) -result);
        }
        return result;
    }
}
