package io.netpoll.sys

import java.net.InetAddress
import java.net.InetSocketAddress

/** Raw sockets through our sys layer, for tests of the layers above it. */
object TestSockets {
    /** A listening, non-blocking TCP socket on 127.0.0.1 with an ephemeral port. */
    fun listener(): Pair<Int, InetSocketAddress> {
        val fd = Sockets.socket(Linux.AF_INET)
        Sockets.setInt(fd, Linux.SOL_SOCKET, Linux.SO_REUSEADDR, 1)
        Sockets.bind(fd, InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
        Sockets.listen(fd, 128)
        return fd to (Sockets.localAddress(fd) as InetSocketAddress)
    }

    /** accept4 until a connection is there (the listener is non-blocking), for at most 5 s. */
    fun acceptBlocking(listenFd: Int): Int {
        val deadline = System.nanoTime() + 5_000_000_000L
        while (System.nanoTime() < deadline) {
            val r = Sys.libc().accept4(listenFd, 0, 0, Linux.SOCK_NONBLOCK or Linux.SOCK_CLOEXEC)
            if (r >= 0) return r
            if (r != -Errno.EAGAIN) throw Errno.exception("accept4", -r)
            Thread.sleep(1)
        }
        error("no connection within 5 s")
    }
}
