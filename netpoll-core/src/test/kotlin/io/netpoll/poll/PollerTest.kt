package io.netpoll.poll

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.sys.Errno
import io.netpoll.sys.Linux
import io.netpoll.sys.NativeBuffer
import io.netpoll.sys.Sockets
import io.netpoll.sys.Sys
import io.netpoll.sys.TestSockets
import java.net.Socket
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

class PollerTest : FunSpec({
    test("listener, client, accept, epoll readiness and a read of the exact bytes written") {
        Poller("test-poller").use { poller ->
            val (lfd, addr) = TestSockets.listener()
            val lpd = poller.register(lfd, PollDesc.WAKE_WAITERS)
            Socket(addr.address, addr.port).use { client ->
                // wait for the listener's readiness through its poll descriptor, then accept
                var fd = -1
                while (fd < 0) {
                    val r = Sys.libc().accept4(lfd, 0, 0, Linux.SOCK_NONBLOCK or Linux.SOCK_CLOEXEC)
                    if (r >= 0) fd = r else {
                        r shouldBe -Errno.EAGAIN
                        lpd.block(PollDesc.READ)
                    }
                }
                val pd = poller.register(fd, PollDesc.WAKE_WAITERS)
                val payload = ByteArray(100_000) { (it * 31 + 7).toByte() }
                val writer = Thread { client.getOutputStream().write(payload); client.getOutputStream().flush() }
                writer.start()
                val buf = NativeBuffer(payload.size)
                var got = 0
                while (got < payload.size) {
                    val n = Sys.libc().read(fd, buf.address() + got, (payload.size - got).toLong())
                    if (n > 0) got += n.toInt()
                    else if (n == -Errno.EAGAIN.toLong()) pd.block(PollDesc.READ)
                    else error("read returned $n")
                }
                writer.join()
                val back = ByteArray(payload.size)
                buf.buffer().get(0, back)
                back.contentEquals(payload) shouldBe true
                pd.close()
                Sockets.close(fd)
            }
            lpd.close()
            Sockets.close(lfd)
        }
    }

    test("tasks submitted from many threads all run on the poller thread, each once") {
        Poller("tasks").use { poller ->
            val ran = AtomicInteger()
            val wrongThread = AtomicInteger()
            val n = 8 * 20_000
            val done = CountDownLatch(n)
            val threads = (1..8).map {
                Thread {
                    repeat(20_000) {
                        poller.execute {
                            if (!poller.inEventLoop()) wrongThread.incrementAndGet()
                            ran.incrementAndGet()
                            done.countDown()
                        }
                    }
                }
            }
            threads.forEach { it.start() }
            threads.forEach { it.join() }
            done.await(30, TimeUnit.SECONDS) shouldBe true
            ran.get() shouldBe n
            wrongThread.get() shouldBe 0
        }
    }

    test("a timer scheduled from another thread wakes a sleeping poller") {
        Poller("timers").use { poller ->
            val fired = CountDownLatch(1)
            Thread.sleep(20) // let the poller block in epoll_wait with no timers
            val start = System.nanoTime()
            var at = 0L
            poller.schedule(start + 30_000_000) { at = System.nanoTime(); fired.countDown() }
            fired.await(5, TimeUnit.SECONDS) shouldBe true
            (at >= start + 30_000_000) shouldBe true
        }
    }

    test("close releases every registered descriptor through its handler") {
        val poller = Poller("closing")
        val released = AtomicInteger()
        val (lfd, _) = TestSockets.listener()
        poller.register(lfd, object : PollDesc.Handler {
            override fun onEvents(pd: PollDesc, events: Int) {}
            override fun onPollerClosed(pd: PollDesc) {
                released.incrementAndGet()
                Sockets.close(pd.fd)
            }
        })
        poller.close()
        poller.awaitTermination(5, TimeUnit.SECONDS) shouldBe true
        released.get() shouldBe 1
        poller.isRunning shouldBe false
    }
})
