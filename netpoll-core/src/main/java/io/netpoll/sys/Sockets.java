package io.netpoll.sys;

import io.netpoll.error.SyscallException;
import io.netpoll.error.UnsupportedException;

import java.net.SocketAddress;

/**
 * Socket calls with their errors checked: the control-path helpers (create, options, bind, listen,
 * connect, addresses, close). The data path (readv/writev/accept4 in loops) calls {@link LibC}
 * directly and checks EAGAIN itself. Every method is safe from any thread; struct arguments go
 * through a per-thread scratch buffer.
 */
public final class Sockets {
    private static final int SCRATCH_SOCKADDR = 0;
    private static final int SCRATCH_LEN = SockAddr.STORAGE_SIZE;
    private static final int SCRATCH_VALUE = SockAddr.STORAGE_SIZE + 8;
    private static final ThreadLocal<NativeBuffer> SCRATCH =
            ThreadLocal.withInitial(() -> new NativeBuffer(SockAddr.STORAGE_SIZE + 32));

    private Sockets() {
    }

    private static LibC c() {
        return Sys.libc();
    }

    /** A new non-blocking, close-on-exec stream socket of {@code family}. */
    public static int socket(int family) throws SyscallException {
        return Errno.check("socket", c().socket(family, Linux.SOCK_STREAM | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC, 0));
    }

    public static void setInt(int fd, int level, int option, int value) throws SyscallException {
        NativeBuffer s = SCRATCH.get();
        s.putInt(SCRATCH_VALUE, value);
        Errno.check("setsockopt", c().setsockopt(fd, level, option, s.address() + SCRATCH_VALUE, 4));
    }

    public static int getInt(int fd, int level, int option) throws SyscallException {
        NativeBuffer s = SCRATCH.get();
        s.putInt(SCRATCH_VALUE, 0);
        s.putInt(SCRATCH_LEN, 4);
        Errno.check("getsockopt", c().getsockopt(fd, level, option, s.address() + SCRATCH_VALUE, s.address() + SCRATCH_LEN));
        return s.getInt(SCRATCH_VALUE);
    }

    /** {@code SO_LINGER} with the given timeout in seconds ({@code 0} makes close send RST). */
    public static void setLinger(int fd, boolean on, int seconds) throws SyscallException {
        NativeBuffer s = SCRATCH.get();
        s.putInt(SCRATCH_VALUE, on ? 1 : 0);
        s.putInt(SCRATCH_VALUE + 4, seconds);
        Errno.check("setsockopt", c().setsockopt(fd, Linux.SOL_SOCKET, Linux.SO_LINGER, s.address() + SCRATCH_VALUE, 8));
    }

    /** The pending socket error ({@code SO_ERROR}), 0 when none; reading it clears it. */
    public static int pendingError(int fd) throws SyscallException {
        return getInt(fd, Linux.SOL_SOCKET, Linux.SO_ERROR);
    }

    public static void bind(int fd, SocketAddress address) throws SyscallException, UnsupportedException {
        NativeBuffer s = SCRATCH.get();
        int len = SockAddr.encode(address, s.buffer());
        Errno.check("bind", address, c().bind(fd, s.address() + SCRATCH_SOCKADDR, len));
    }

    public static void listen(int fd, int backlog) throws SyscallException {
        Errno.check("listen", c().listen(fd, backlog));
    }

    /**
     * Starts a non-blocking connect. Returns {@code true} when it completed at once (unix sockets,
     * sometimes loopback), {@code false} when it is in progress (EINPROGRESS, or EINTR, after which
     * the connect goes on as well: wait for writable, then read {@link #pendingError}). Anything else
     * throws, EAGAIN too: a unix socket's listener has a full queue, or no local port is free; the
     * socket is then not connecting, and no event would ever come (Go reports it the same way).
     */
    public static boolean connect(int fd, SocketAddress address) throws SyscallException, UnsupportedException {
        NativeBuffer s = SCRATCH.get();
        int len = SockAddr.encode(address, s.buffer());
        int r = c().connect(fd, s.address() + SCRATCH_SOCKADDR, len);
        if (r == -Errno.EINPROGRESS || r == -Errno.EINTR) {
            return false;
        }
        Errno.check("connect", address, r);
        return true;
    }

    public static SocketAddress localAddress(int fd) throws SyscallException {
        NativeBuffer s = SCRATCH.get();
        s.putInt(SCRATCH_LEN, SockAddr.STORAGE_SIZE);
        Errno.check("getsockname", c().getsockname(fd, s.address() + SCRATCH_SOCKADDR, s.address() + SCRATCH_LEN));
        return SockAddr.decode(s.buffer(), s.getInt(SCRATCH_LEN));
    }

    public static SocketAddress remoteAddress(int fd) throws SyscallException {
        NativeBuffer s = SCRATCH.get();
        s.putInt(SCRATCH_LEN, SockAddr.STORAGE_SIZE);
        Errno.check("getpeername", c().getpeername(fd, s.address() + SCRATCH_SOCKADDR, s.address() + SCRATCH_LEN));
        return SockAddr.decode(s.buffer(), s.getInt(SCRATCH_LEN));
    }

    public static void shutdown(int fd, int how) throws SyscallException {
        int r = c().shutdown(fd, how);
        if (r == -Errno.ENOTCONN) {
            return; // already disconnected: nothing to shut down
        }
        Errno.check("shutdown", r);
    }

    /** Closes {@code fd}; errors are ignored except EBADF, which means a double close (a bug). */
    public static void close(int fd) {
        int r = c().close(fd);
        if (r == -Errno.EBADF) {
            throw new IllegalStateException("close(" + fd + "): " + Errno.exception("close", Errno.EBADF).getMessage());
        }
    }
}
