package io.netpoll.sys

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContain
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldStartWith
import io.netpoll.conn.ConnTestKit
import java.net.Socket
import java.util.concurrent.TimeUnit

/**
 * Every libc binding behaves the same through the seam (FFM only on JDK 22+; the JDK entry points
 * only when the test JVM opens their packages, as the build's surefire flags do).
 */
class LibCBindingsTest : FunSpec({
    val bindings = buildList {
        add("jna")
        if (JdkLibC.available()) add("jdk") else println("LibCBindingsTest: jdk rows skipped, packages not open or entry points missing")
        if (FfmLibC.available()) add("ffm") else println("LibCBindingsTest: FFM rows skipped, JDK ${Runtime.version().feature()} < 22")
    }
    val names = mapOf("jna" to "jna-direct", "jdk" to "jdk-jni", "ffm" to "ffm")

    test("auto picks FFM on JDK 22+, else the JDK entry points when their packages are open, else JNA") {
        val expected = when {
            FfmLibC.available() -> "ffm"
            JdkLibC.available() -> "jdk-jni"
            else -> "jna-direct"
        }
        if (System.getProperty("netpoll.libc", "auto") == "auto") Sys.libc().name() shouldBe expected
    }
    test("without the opens, auto takes FFM (JDK 22+) or JNA, and asking for the JDK binding says what it needs") {
        val out = runChild("io.netpoll.sys.BindingChoiceMain")
        withClue(out.joinToString("\n")) {
            out shouldContain "auto " + (if (FfmLibC.available()) "ffm" else "jna-direct")
            val jdk = out.single { it.startsWith("jdk ") }
            jdk shouldStartWith "jdk UnsupportedOperationException: netpoll.libc=jdk needs --add-opens java.base/sun.nio.ch=ALL-UNNAMED"
        }
    }

    test("a netpoll.libc that names no binding fails every call with IllegalArgumentException saying what to use") {
        val out = runChild("io.netpoll.sys.BadBindingMain", "-Dnetpoll.libc=bogus")
        withClue(out.joinToString("\n")) {
            for (n in 1..2) {
                out shouldContain "call $n IllegalArgumentException: netpoll.libc=bogus: use auto, jna, jdk or ffm"
            }
        }
    }

    for (name in bindings) {
        test("$name: failures come back as -errno, never as exceptions") {
            val c = Sys.create(name)
            c.name() shouldBe names[name]
            c.close(-1) shouldBe -Errno.EBADF
            c.write(-1, 0, 0) shouldBe -Errno.EBADF.toLong()
            val efd = c.eventfd(0, Linux.EFD_NONBLOCK or Linux.EFD_CLOEXEC)
            (efd >= 0) shouldBe true
            val buf = NativeBuffer(16)
            c.read(efd, buf.address(), 8) shouldBe -Errno.EAGAIN.toLong()
            buf.putLong(0, 5)
            c.write(efd, buf.address(), 8) shouldBe 8L
            c.read(efd, buf.address() + 8, 8) shouldBe 8L
            buf.getLong(8) shouldBe 5L
            c.close(efd) shouldBe 0
        }

        test("$name: readv and writev move the exact bytes over a real socket") {
            val c = Sys.create(name)
            val (lfd, addr) = TestSockets.listener()
            Socket(addr.address, addr.port).use { peer ->
                val fd = TestSockets.acceptBlocking(lfd)
                val data = NativeBuffer(64)
                for (i in 0 until 10) data.buffer().put(i, (i + 1).toByte())
                val iov = NativeBuffer(32)
                iov.putLong(0, data.address()); iov.putLong(8, 4)
                iov.putLong(16, data.address() + 4); iov.putLong(24, 6)
                c.writev(fd, iov.address(), 2) shouldBe 10L
                val got = ByteArray(10)
                peer.getInputStream().readNBytes(got, 0, 10)
                got.toList() shouldBe (1..10).map { it.toByte() }
                peer.getOutputStream().write(byteArrayOf(9, 8, 7))
                peer.getOutputStream().flush()
                val into = NativeBuffer(8)
                iov.putLong(0, into.address()); iov.putLong(8, 2)
                iov.putLong(16, into.address() + 2); iov.putLong(24, 6)
                var n = c.readv(fd, iov.address(), 2)
                while (n == -Errno.EAGAIN.toLong()) { Thread.sleep(1); n = c.readv(fd, iov.address(), 2) }
                n shouldBe 3L
                (0 until 3).map { into.buffer().get(it) } shouldBe listOf<Byte>(9, 8, 7)
                c.close(fd)
            }
            c.close(lfd)
        }

        test("$name: a reset peer, the end of the stream and bad descriptors come back as the kernel's values") {
            val c = Sys.create(name)
            val buf = NativeBuffer(64)
            val iov = NativeBuffer(16)
            iov.putLong(0, buf.address()); iov.putLong(8, 64)
            c.readv(-1, iov.address(), 1) shouldBe -Errno.EBADF.toLong()
            c.writev(-1, iov.address(), 1) shouldBe -Errno.EBADF.toLong()
            c.read(-1, buf.address(), 8) shouldBe -Errno.EBADF.toLong()
            c.epollWait(-1, buf.address(), 1, 0) shouldBe -Errno.EBADF
            val (lfd, addr) = TestSockets.listener()
            // a peer that closes normally: the bytes it sent, then 0 (end of stream), never an error
            Socket(addr.address, addr.port).use { peer ->
                val fd = TestSockets.acceptBlocking(lfd)
                peer.getOutputStream().write(byteArrayOf(1, 2, 3))
                peer.close()
                var n = c.read(fd, buf.address(), 64)
                while (n == -Errno.EAGAIN.toLong()) { Thread.sleep(1); n = c.read(fd, buf.address(), 64) }
                n shouldBe 3L
                c.read(fd, buf.address(), 64) shouldBe 0L
                c.readv(fd, iov.address(), 1) shouldBe 0L
                c.close(fd)
            }
            // a peer that resets (SO_LINGER 0): ECONNRESET on the read, then EPIPE on a write
            Socket(addr.address, addr.port).use { peer ->
                val fd = TestSockets.acceptBlocking(lfd)
                peer.setSoLinger(true, 0)
                peer.close()
                var n = c.read(fd, buf.address(), 64)
                while (n == -Errno.EAGAIN.toLong()) { Thread.sleep(1); n = c.read(fd, buf.address(), 64) }
                n shouldBe -Errno.ECONNRESET.toLong()
                c.write(fd, buf.address(), 8) shouldBe -Errno.EPIPE.toLong()
                c.writev(fd, iov.address(), 1) shouldBe -Errno.EPIPE.toLong()
                c.close(fd)
            }
            c.close(lfd)
        }
    }
})

/** Runs [main] in a child JVM with [jvmArgs] and returns its output lines; it gets 30 s, then is killed and this fails. */
private fun runChild(main: String, vararg jvmArgs: String): List<String> {
    val log = java.io.File.createTempFile("netpoll-child", ".log")
    try {
        val command = listOf(ConnTestKit.javaBin(), "--enable-native-access=ALL-UNNAMED") + jvmArgs +
            listOf("-cp", ConnTestKit.childClasspath(), main)
        val child = ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log).start()
        if (!child.waitFor(30, TimeUnit.SECONDS)) {
            child.destroyForcibly()
            throw AssertionError("$main did not exit within 30 s: " + log.readText())
        }
        return log.readLines()
    } finally {
        log.delete()
    }
}
