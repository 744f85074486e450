package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.shouldBe
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.withDialer
import java.net.InetAddress
import java.net.ServerSocket
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/** The blocking reader's until(): a delimiter that arrives while it scans is found. */
class ReaderUntilTest : FunSpec({
    test("until() finds a delimiter that arrives while it scans a long buffered start, instead of skipping it") {
        // scanning 3 MiB takes milliseconds; the poller appends the '\n' meanwhile. The next scan must
        // start where this one really looked, not at len() taken after it (which counts the '\n' as
        // searched: until() would wait for another delimiter and run into the next message)
        ServerSocket(0, 50, InetAddress.getLoopbackAddress()).use { ss ->
            withDialer { dialer ->
                dialer.connect("tcp", "127.0.0.1:${ss.localPort}", Duration.ofSeconds(5)).use { c ->
                    ss.soTimeout = 5000
                    ss.accept().use { s ->
                        s.soTimeout = ConnTestKit.WAIT_MS.toInt()
                        val start = 3 shl 20
                        for (round in 0 until 8) {
                            val head = ByteArray(start) { ('a' + round).code.toByte() }
                            s.getOutputStream().write(head)
                            awaitTrue("$start bytes buffered") { c.reader().len() >= start }
                            val line = CompletableFuture.supplyAsync {
                                val v = c.reader().until('\n'.code.toByte())
                                ByteArray(v.remaining()).also { v.get(it) }.also { c.reader().release() }
                            }
                            val pause = round * 250_000 // ns: land the delimiter at different points of the scan
                            Thread.sleep(pause / 1_000_000L, pause % 1_000_000)
                            s.getOutputStream().write("\nnext\n".toByteArray())
                            val got = line.get(ConnTestKit.WAIT_MS, TimeUnit.MILLISECONDS) // skipped: waits forever
                            got.size shouldBe start + 1
                            (got.copyOf(start) contentEquals head).shouldBeTrue()
                            String(c.reader().readBinary(5)) shouldBe "next\n"
                            c.reader().release()
                        }
                    }
                }
            }
        }
    }
})
