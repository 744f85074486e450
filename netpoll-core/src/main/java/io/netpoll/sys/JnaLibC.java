package io.netpoll.sys;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * {@link LibC} over JNA <em>direct mapping</em> ({@link Native#register}): static native methods
 * with primitive arguments only, which costs about 0.1 us a call on this class of machine (interface
 * mapping costs twice that). Pointers travel as {@code long} addresses, which is exact on the
 * 64-bit platforms {@link Sys} accepts. errno is read with {@link Native#getLastError()} only after
 * a call failed.
 */
final class JnaLibC implements LibC {
    /** The direct-mapped functions; JNA binds each method to the libc symbol of the same name. */
    private static final class C {
        static {
            Native.register(C.class, NativeLibrary.getInstance(com.sun.jna.Platform.C_LIBRARY_NAME));
        }

        static native int epoll_create1(int flags);

        static native int epoll_ctl(int epfd, int op, int fd, long event);

        static native int epoll_wait(int epfd, long events, int maxevents, int timeout);

        static native int eventfd(int initval, int flags);

        static native int socket(int domain, int type, int protocol);

        static native int setsockopt(int fd, int level, int name, long value, int len);

        static native int getsockopt(int fd, int level, int name, long value, long len);

        static native int bind(int fd, long addr, int len);

        static native int listen(int fd, int backlog);

        static native int accept4(int fd, long addr, long len, int flags);

        static native int connect(int fd, long addr, int len);

        static native int getsockname(int fd, long addr, long len);

        static native int getpeername(int fd, long addr, long len);

        static native long read(int fd, long buf, long count);

        static native long readv(int fd, long iov, int iovcnt);

        static native long write(int fd, long buf, long count);

        static native long writev(int fd, long iov, int iovcnt);

        static native int shutdown(int fd, int how);

        static native int close(int fd);

        static native String strerror(int errnum);
    }

    /** libc's text for {@code errnum}, as the JDK's own natives put it in their exception messages. */
    static String strerror(int errnum) {
        return C.strerror(errnum);
    }

    private static int r(int result) {
        return result < 0 ? -Native.getLastError() : result;
    }

    private static long r(long result) {
        return result < 0 ? -Native.getLastError() : result;
    }

    @Override public int epollCreate1(int flags) { return r(C.epoll_create1(flags)); }

    @Override public int epollCtl(int epfd, int op, int fd, long event) { return r(C.epoll_ctl(epfd, op, fd, event)); }

    @Override public int epollWait(int epfd, long events, int maxEvents, int timeoutMillis) {
        return r(C.epoll_wait(epfd, events, maxEvents, timeoutMillis));
    }

    @Override public int eventfd(int initval, int flags) { return r(C.eventfd(initval, flags)); }

    @Override public int socket(int domain, int type, int protocol) { return r(C.socket(domain, type, protocol)); }

    @Override public int setsockopt(int fd, int level, int name, long value, int valueLen) {
        return r(C.setsockopt(fd, level, name, value, valueLen));
    }

    @Override public int getsockopt(int fd, int level, int name, long value, long valueLen) {
        return r(C.getsockopt(fd, level, name, value, valueLen));
    }

    @Override public int bind(int fd, long addr, int addrLen) { return r(C.bind(fd, addr, addrLen)); }

    @Override public int listen(int fd, int backlog) { return r(C.listen(fd, backlog)); }

    @Override public int accept4(int fd, long addr, long addrLen, int flags) { return r(C.accept4(fd, addr, addrLen, flags)); }

    @Override public int connect(int fd, long addr, int addrLen) { return r(C.connect(fd, addr, addrLen)); }

    @Override public int getsockname(int fd, long addr, long addrLen) { return r(C.getsockname(fd, addr, addrLen)); }

    @Override public int getpeername(int fd, long addr, long addrLen) { return r(C.getpeername(fd, addr, addrLen)); }

    @Override public long read(int fd, long buf, long count) { return r(C.read(fd, buf, count)); }

    @Override public long readv(int fd, long iov, int iovcnt) { return r(C.readv(fd, iov, iovcnt)); }

    @Override public long write(int fd, long buf, long count) { return r(C.write(fd, buf, count)); }

    @Override public long writev(int fd, long iov, int iovcnt) { return r(C.writev(fd, iov, iovcnt)); }

    @Override public int shutdown(int fd, int how) { return r(C.shutdown(fd, how)); }

    @Override public int close(int fd) { return r(C.close(fd)); }

    @Override public String name() { return "jna-direct"; }
}
