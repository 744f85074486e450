package io.netpoll.sys;

/**
 * Linux constants netpoll passes to the kernel. These values are the generic ones shared by x86-64
 * and aarch64 (the two architectures {@link Sys} accepts).
 */
public final class Linux {
    private Linux() {
    }

    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;

    public static final int SOCK_STREAM = 1;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;

    public static final int EPOLL_CLOEXEC = 0x80000;
    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;

    /** Readable, or a pending accept. */
    public static final int EPOLLIN = 0x001;
    /** Writable, or a non-blocking connect finished (check SO_ERROR). */
    public static final int EPOLLOUT = 0x004;
    /** An error is pending on the socket (read it with SO_ERROR or the next call). */
    public static final int EPOLLERR = 0x008;
    /** Both directions are shut down, or the connection was reset. */
    public static final int EPOLLHUP = 0x010;
    /** The peer sent FIN: it shut down its write side or closed. */
    public static final int EPOLLRDHUP = 0x2000;
    /** Edge-triggered: report a readiness change once, not while it lasts. */
    public static final int EPOLLET = 1 << 31;

    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;

    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_ERROR = 4;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_KEEPALIVE = 9;
    public static final int SO_LINGER = 13;
    public static final int SO_REUSEPORT = 15;

    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_IPV6 = 41;
    public static final int TCP_NODELAY = 1;
    public static final int TCP_KEEPIDLE = 4;
    public static final int TCP_KEEPINTVL = 5;
    public static final int TCP_KEEPCNT = 6;
    public static final int IPV6_V6ONLY = 26;
}
