package io.netpoll.poll

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.sys.Linux
import io.netpoll.sys.Sockets
import io.netpoll.sys.TestSockets
import java.net.Socket
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger

/**
 * An event fetched by epoll_wait for fd X, dispatched after X was closed and its number reused by a
 * new registration, must not reach the new descriptor.
 */
class StaleEventTest : FunSpec({
    test("a closed-and-reused fd's late event does not wake the new descriptor's waiter") {
        var proven = false
        var attempts = 0
        while (!proven && attempts < 20) {
            attempts++
            Poller("stale").use { poller ->
                val (lfd, addr) = TestSockets.listener()
                val clientY = Socket(addr.address, addr.port)
                val fdY = TestSockets.acceptBlocking(lfd)
                val clientX = Socket(addr.address, addr.port)
                val fdX = TestSockets.acceptBlocking(lfd)
                val newFd = AtomicInteger(-1)
                val newPd = arrayOfNulls<PollDesc>(1)
                val newHandlerCalls = AtomicInteger() // events carrying EPOLLIN
                val yHandled = CountDownLatch(1)
                val xOldCalls = AtomicInteger()
                val reused = AtomicBoolean(false)
                lateinit var pdX: PollDesc
                // X's own handler must never see the byte written to X after it was closed
                pdX = poller.register(fdX) { _, ev -> if (ev and Linux.EPOLLIN != 0) xOldCalls.incrementAndGet() }
                poller.register(fdY) { pd, events ->
                    if (events and Linux.EPOLLIN != 0 && yHandled.count > 0) {
                        // close X and take its number for a new descriptor, before X's event is dispatched
                        pdX.close()
                        Sockets.close(fdX)
                        val fd = Sockets.socket(Linux.AF_INET)
                        newFd.set(fd)
                        if (fd == pdX.fd) {
                            reused.set(true)
                            newPd[0] = pd.poller.register(fd) { _, ev -> if (ev and Linux.EPOLLIN != 0) newHandlerCalls.incrementAndGet() }
                        }
                        yHandled.countDown()
                    }
                }
                // the initial EPOLLOUT edges are dispatched now; let them pass
                Thread.sleep(50)
                // hold the poller in a task while Y, then X, become readable: one epoll_wait returns [Y, X]
                val gate = CountDownLatch(1)
                poller.execute { gate.await(5, TimeUnit.SECONDS) }
                Thread.sleep(20)
                clientY.getOutputStream().write(1)
                Thread.sleep(20)
                clientX.getOutputStream().write(2)
                Thread.sleep(20)
                gate.countDown()
                yHandled.await(5, TimeUnit.SECONDS) shouldBe true
                Thread.sleep(50)
                if (reused.get()) {
                    // an unconnected socket's own events are OUT|HUP; an IN event could only be X's stale one
                    newHandlerCalls.get() shouldBe 0
                    xOldCalls.get() shouldBe 0
                    proven = true
                }
                newPd[0]?.close()
                if (newFd.get() >= 0) Sockets.close(newFd.get())
                Sockets.close(fdY)
                Sockets.close(lfd)
                clientX.close()
                clientY.close()
            }
        }
        proven shouldBe true
    }
})
