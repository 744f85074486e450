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
import java.net.UnixDomainSocketAddress

class SyscallErrorsTest : FunSpec({
    test("connecting to a closed port gives a typed connection-refused error naming the call and errno") {
        // find a port nobody listens on: bind, read the port, close
        val (probe, addr) = TestSockets.listener()
        Sockets.close(probe)
        val fd = Sockets.socket(Linux.AF_INET)
        try {
            val e = shouldThrow<ConnectionRefusedException> {
                val target = InetSocketAddress(InetAddress.getLoopbackAddress(), addr.port)
                if (!Sockets.connect(fd, target)) {
                    // in progress: wait for the outcome the way the dialer does, via SO_ERROR
                    var err = 0
                    val deadline = System.nanoTime() + 5_000_000_000L
                    while (err == 0 && System.nanoTime() < deadline) {
                        err = Sockets.pendingError(fd)
                        if (err == 0) Thread.sleep(1)
                    }
                    throw Errno.exception("connect", target, err)
                }
            }
            e.message shouldBe "connect 127.0.0.1:${addr.port}: connection refused (ECONNREFUSED)"
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

    test("a call on an address names it in the message, in Go's form, and keeps the type its errno maps to") {
        val v4 = Errno.exception("connect", InetSocketAddress(InetAddress.getByName("127.0.0.1"), 9), Errno.ECONNREFUSED)
        v4.shouldBeInstanceOf<ConnectionRefusedException>()
        v4.message shouldBe "connect 127.0.0.1:9: connection refused (ECONNREFUSED)"
        v4.call() shouldBe "connect"
        v4.address() shouldBe "127.0.0.1:9"
        Errno.exception("bind", InetSocketAddress(InetAddress.getByName("::1"), 80), Errno.EADDRINUSE).message shouldBe
            "bind [::1]:80: address already in use (EADDRINUSE)"
        Errno.exception("bind", UnixDomainSocketAddress.of("/tmp/x.sock"), Errno.EROFS).message shouldBe
            "bind /tmp/x.sock: read-only file system (EROFS)"
        Errno.exception("connect", Errno.ECONNREFUSED).address() shouldBe null
        fun v6(text: String) = SockAddr.format(InetSocketAddress(InetAddress.getByName(text), 1))
        v6("::") shouldBe "[::]:1"
        v6("2001:db8:0:0:1:0:0:1") shouldBe "[2001:db8::1:0:0:1]:1"
        v6("2001:db8:0:1:1:1:1:1") shouldBe "[2001:db8:0:1:1:1:1:1]:1"
        v6("fe80:0:0:0:0:0:0:1") shouldBe "[fe80::1]:1"
        v6("1:0:0:2:0:0:0:3") shouldBe "[1:0:0:2::3]:1"
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
            e.message shouldBe "bind ${SockAddr.format(addr)}: address already in use (EADDRINUSE)"
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
