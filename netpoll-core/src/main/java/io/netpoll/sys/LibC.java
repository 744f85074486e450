package io.netpoll.sys;

/**
 * The seam between netpoll and the C library: every system call netpoll makes goes through one
 * implementation of this interface, chosen once at run time by {@link Sys#libc()}.
 *
 * <p>Arguments are primitives and raw native addresses only, so an implementation can be JNA
 * direct mapping ({@link JnaLibC}), the JDK's own JNI entry points ({@link JdkLibC}) or a JDK 22+
 * FFM downcall ({@link FfmLibC}), without any layer above noticing. Every call returns what the C call returns on success and {@code -errno} on failure
 * (the kernel's own convention); it never throws. Turning a negative result into an exception is
 * the job of {@link Errno#check} alone.
 */
public interface LibC {
    int epollCreate1(int flags);

    /** {@code event} is the address of a {@code struct epoll_event} (or 0 for EPOLL_CTL_DEL). */
    int epollCtl(int epfd, int op, int fd, long event);

    int epollWait(int epfd, long events, int maxEvents, int timeoutMillis);

    int eventfd(int initval, int flags);

    int socket(int domain, int type, int protocol);

    int setsockopt(int fd, int level, int name, long value, int valueLen);

    /** {@code valueLen} is the address of a {@code socklen_t} in/out argument. */
    int getsockopt(int fd, int level, int name, long value, long valueLen);

    int bind(int fd, long addr, int addrLen);

    int listen(int fd, int backlog);

    /** {@code addr} and {@code addrLen} may be 0. */
    int accept4(int fd, long addr, long addrLen, int flags);

    int connect(int fd, long addr, int addrLen);

    int getsockname(int fd, long addr, long addrLen);

    int getpeername(int fd, long addr, long addrLen);

    long read(int fd, long buf, long count);

    long readv(int fd, long iov, int iovcnt);

    long write(int fd, long buf, long count);

    long writev(int fd, long iov, int iovcnt);

    int shutdown(int fd, int how);

    int close(int fd);

    /** A short name for logs and benchmarks ("jna-direct"). */
    String name();
}
