package io.netpoll.sys

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.netpoll.error.UnsupportedException
import java.net.Inet6Address
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.SocketAddress
import java.net.UnixDomainSocketAddress
import java.nio.ByteBuffer
import java.nio.ByteOrder

class SockAddrTest : FunSpec({
    fun roundTrip(a: SocketAddress): Pair<Int, SocketAddress> {
        val buf = ByteBuffer.allocateDirect(SockAddr.STORAGE_SIZE).order(ByteOrder.nativeOrder())
        val len = SockAddr.encode(a, buf)
        return len to SockAddr.decode(buf, len)
    }

    test("ipv4 encodes as a 16-byte sockaddr_in with the port in network order") {
        val buf = ByteBuffer.allocateDirect(SockAddr.STORAGE_SIZE).order(ByteOrder.nativeOrder())
        val len = SockAddr.encode(InetSocketAddress(InetAddress.getByName("10.1.2.3"), 0x1f90), buf)
        len shouldBe 16
        buf.getShort(0).toInt() shouldBe Linux.AF_INET
        buf.get(2) shouldBe 0x1f.toByte()
        buf.get(3) shouldBe 0x90.toByte()
        (0 until 4).map { buf.get(4 + it).toInt() and 0xff } shouldBe listOf(10, 1, 2, 3)
    }

    test("ipv4, ipv6 and ipv6 with a scope id round-trip") {
        val v4 = InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8080)
        roundTrip(v4) shouldBe (16 to v4)
        val v6 = InetSocketAddress(InetAddress.getByName("::1"), 443)
        roundTrip(v6) shouldBe (28 to v6)
        val scoped = InetSocketAddress(Inet6Address.getByAddress(null, InetAddress.getByName("fe80::1").address, 2), 1)
        val (len, back) = roundTrip(scoped)
        len shouldBe 28
        ((back as InetSocketAddress).address as Inet6Address).scopeId shouldBe 2
    }

    test("unix path and abstract names round-trip; abstract names use a leading @") {
        val path = UnixDomainSocketAddress.of("/tmp/netpoll-test.sock")
        roundTrip(path) shouldBe (2 + "/tmp/netpoll-test.sock".length + 1 to path)
        val abs = UnixDomainSocketAddress.of("@netpoll-abstract")
        roundTrip(abs) shouldBe (2 + 1 + "netpoll-abstract".length to abs)
    }

    test("an abstract name with a NUL in it (a foreign peer's) decodes, its NULs shown as @") {
        val raw = byteArrayOf(0, 'a'.code.toByte(), 0, 'b'.code.toByte())
        val b = ByteBuffer.allocate(2 + raw.size).order(ByteOrder.nativeOrder())
        b.putShort(Linux.AF_UNIX.toShort()).put(raw)
        SockAddr.decode(b, 2 + raw.size) shouldBe UnixDomainSocketAddress.of("@a@b")
    }

    test("a unix path longer than sun_path is refused with a typed error") {
        val e = shouldThrow<UnsupportedException> {
            roundTrip(UnixDomainSocketAddress.of("/tmp/" + "x".repeat(200)))
        }
        e.message shouldContain "unix socket path"
    }

    test("an unresolved host is refused with a typed error") {
        shouldThrow<UnsupportedException> { roundTrip(InetSocketAddress.createUnresolved("example.invalid", 1)) }
    }
})
