package io.netpoll.sys

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.error.ConnectionRefusedException
import io.netpoll.error.SyscallException
import io.netpoll.error.UnreachableException
import java.net.InetAddress
import java.net.InetSocketAddress

class SyscallErrorsTest : FunSpec({
    test("connecting to a closed port gives a typed connection-refused error naming the call and errno") {
        // find a port nobody listens on: bind, read the port, close
        val (probe, addr) = TestSockets.listener()
        Sockets.close(probe)
        val fd = Sockets.socket(Linux.AF_INET)
        try {
            val e = shouldThrow<ConnectionRefusedException> {
                if (!Sockets.connect(fd, InetSocketAddress(InetAddress.getLoopbackAddress(), addr.port))) {
                    // in progress: wait for the outcome the way the dialer does, via SO_ERROR
                    var err = 0
                    val deadline = System.nanoTime() + 5_000_000_000L
                    while (err == 0 && System.nanoTime() < deadline) {
                        err = Sockets.pendingError(fd)
                        if (err == 0) Thread.sleep(1)
                    }
                    throw Errno.exception("connect", err)
                }
            }
            e.message shouldBe "connect: connection refused (ECONNREFUSED)"
            e.errno() shouldBe Errno.ECONNREFUSED
            e.errnoName() shouldBe "ECONNREFUSED"
        } finally {
            Sockets.close(fd)
        }
    }

    test("an errno the mapping does not single out is a plain SyscallException with its name") {
        val e = Errno.exception("bind", Errno.EADDRINUSE)
        e.shouldBeInstanceOf<SyscallException>()
        e.message shouldBe "bind: address already in use (EADDRINUSE)"
        Errno.exception("x", 250).message shouldBe "x: unknown error (errno 250)"
    }

    test("a host that is down is UnreachableException, and the file-system errnos of a unix path have their names") {
        Errno.exception("connect", Errno.EHOSTDOWN).shouldBeInstanceOf<UnreachableException>()
        Errno.exception("connect", Errno.EHOSTDOWN).message shouldBe "connect: host is down (EHOSTDOWN)"
        Errno.exception("bind", Errno.ENOTDIR).message shouldBe "bind: not a directory (ENOTDIR)"
        Errno.exception("bind", Errno.EROFS).message shouldBe "bind: read-only file system (EROFS)"
    }

    test("binding a port in use is refused with EADDRINUSE") {
        val (fd, addr) = TestSockets.listener()
        val other = Sockets.socket(Linux.AF_INET)
        try {
            val e = shouldThrow<SyscallException> { Sockets.bind(other, addr) }
            e.errnoName() shouldBe "EADDRINUSE"
        } finally {
            Sockets.close(other)
            Sockets.close(fd)
        }
    }

    test("a read on an empty non-blocking socket returns -EAGAIN instead of throwing") {
        val (lfd, addr) = TestSockets.listener()
        java.net.Socket(addr.address, addr.port).use {
            val fd = TestSockets.acceptBlocking(lfd)
            val buf = NativeBuffer(16)
            Sys.libc().read(fd, buf.address(), 16) shouldBe -Errno.EAGAIN.toLong()
            Sockets.close(fd)
        }
        Sockets.close(lfd)
    }
})
