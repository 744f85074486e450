package io.netpoll.buffer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.netpoll.sys.Errno
import io.netpoll.sys.Linux
import io.netpoll.sys.NativeBuffer
import io.netpoll.sys.Sockets
import io.netpoll.sys.Sys
import io.netpoll.sys.TestSockets
import kotlin.random.Random

/**
 * The kernel side of the buffer over a real loopback TCP connection: the sender describes its
 * flushed nodes with fillIov for writev, the receiver books fresh nodes for readv. Small socket
 * buffers force short writes and EAGAIN; the sender skips what was written, releases and carries on
 * after the peer has read. Every byte must arrive once and in order, and both pools end empty.
 */
class LinkBufferSocketTest : FunSpec({
    for (layout in Layout.values()) {
        test("writev from flushed nodes and readv into booked nodes move every byte in order, ${layout.name.lowercase()} layout") {
            withPool { pool -> Transfer(pool, layout, seed = layout.ordinal.toLong()).run() }
        }
    }

    test("a readv that finds the peer gone books nothing and leaks nothing") {
        withPool { pool ->
            val (lfd, addr) = TestSockets.listener()
            val cfd = Sockets.socket(Linux.AF_INET)
            Sockets.connect(cfd, addr)
            val sfd = TestSockets.acceptBlocking(lfd)
            val iov = NativeBuffer(16 * 4)
            val b = LinkBuffer(pool)
            try {
                Sockets.shutdown(cfd, Linux.SHUT_WR)
                val deadline = System.nanoTime() + 5_000_000_000L
                while (true) { // EAGAIN until the FIN has arrived, then EOF (0)
                    val count = b.book(100_000, iov.buffer(), 4)
                    val r = Sys.libc().readv(sfd, iov.address(), count)
                    b.bookAck(0)
                    if (r != -Errno.EAGAIN.toLong()) {
                        r shouldBe 0L
                        break
                    }
                    check(System.nanoTime() < deadline) { "no EOF within 5 s" }
                    Thread.sleep(1)
                }
                b.len() shouldBe 0
                b.release()
                pool.bytesInUse() shouldBe 0L
            } finally {
                b.close()
                Sockets.close(sfd)
                Sockets.close(cfd)
                Sockets.close(lfd)
            }
        }
    }
})

private class Transfer(private val pool: BufferPool, private val layout: Layout, seed: Long) {
    private val r = Random(seed)
    private val data = seqBytes(seed, 1_200_000)
    private val libc = Sys.libc()
    private val sendIov = NativeBuffer(16 * 64)
    private val recvIov = NativeBuffer(16 * 4)

    fun run() {
        val (lfd, addr) = TestSockets.listener()
        val cfd = Sockets.socket(Linux.AF_INET)
        // a small send buffer: writes of more than fits come back short or with EAGAIN
        Sockets.setInt(cfd, Linux.SOL_SOCKET, Linux.SO_SNDBUF, 4096)
        Sockets.connect(cfd, addr)
        val sfd = TestSockets.acceptBlocking(lfd)
        val out = layout.build(pool, data.copyOf(300_000), r) // the first part, flushed, in this layout
        val inb = LinkBuffer(pool)
        var queued = 300_000 // bytes of data given to `out` so far
        var sent = 0
        var received = 0
        var shortWrites = 0
        var eagains = 0
        val deadline = System.nanoTime() + 60_000_000_000L
        try {
            while (received < data.size) {
                check(System.nanoTime() < deadline) { "stuck: sent $sent, received $received" }
                // the writer side keeps adding, sometimes leaving bytes unflushed (never sent)
                if (queued < data.size && r.nextInt(3) == 0) {
                    val k = minOf(r.nextInt(1, 40_000), data.size - queued)
                    when (r.nextInt(3)) {
                        0 -> out.writeBinary(data, queued, k)
                        1 -> out.writeDirect(directOf(data.copyOfRange(queued, queued + k)))
                        else -> {
                            val other = LinkBuffer(pool)
                            other.writeBinary(data, queued, k)
                            other.flush()
                            out.append(other)
                            other.close()
                        }
                    }
                    queued += k
                    if (r.nextInt(4) != 0 || queued == data.size) out.flush()
                }
                // writev whatever is flushed
                if (out.len() > 0) {
                    val count = out.fillIov(sendIov.buffer(), 64, r.nextLong(1, 300_000))
                    val described = out.iovBytes()
                    (described <= out.len()) shouldBe true
                    val n = libc.writev(cfd, sendIov.address(), count)
                    when {
                        n > 0 -> {
                            if (n < described) shortWrites++
                            out.skip(n.toInt())
                            out.release()
                            sent += n.toInt()
                        }
                        n == -Errno.EAGAIN.toLong() -> eagains++
                        else -> throw Errno.exception("writev", (-n).toInt())
                    }
                }
                // the peer reads whatever has arrived into booked nodes
                val count = inb.book(r.nextInt(1, 200_000), recvIov.buffer(), r.nextInt(1, 5))
                val n = libc.readv(sfd, recvIov.address(), count)
                when {
                    n > 0 -> inb.bookAck(n.toInt())
                    n == -Errno.EAGAIN.toLong() -> inb.bookAck(0)
                    else -> throw AssertionError("readv returned $n after $received bytes")
                }
                if (inb.len() > 0) {
                    val k = inb.len()
                    val got = if (r.nextBoolean()) inb.readBinary(k) else inb.next(k).contents()
                    got.shouldBeBytes(data.copyOfRange(received, received + k), "received at $received")
                    received += k
                    inb.release()
                }
            }
            sent shouldBe data.size
            shortWrites shouldBeGreaterThan 0 // the partial-write path really ran (EAGAIN too, usually)
            out.len() shouldBe 0
            out.seal()
            out.release()
            inb.release()
            pool.bytesInUse() shouldBe 0L // both sides sealed (bookAck) or drained to sealed nodes
        } finally {
            out.close()
            inb.close()
            Sockets.close(sfd)
            Sockets.close(cfd)
            Sockets.close(lfd)
        }
    }
}
