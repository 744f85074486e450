package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.conn.ConnTestKit.attempt
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.endedByReset
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.recordClose
import io.netpoll.conn.ConnTestKit.sendThenReset
import io.netpoll.conn.ConnTestKit.server
import io.netpoll.error.ConnectionResetException
import io.netpoll.error.EofException
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference

/**
 * A write that fails (the peer went away) ends the output, never the input: the bytes the peer sent
 * before it are still read, and the connection closes once they are.
 */
class WriteFailureTest : FunSpec({
    test("a flush that a peer's reset fails throws ConnectionResetException, and so does the next; the bytes that came before the reset are still read, then ConnectionClosedException caused by it") {
        val go = CountDownLatch(1)
        val conn = AtomicReference<Connection>()
        val cause = AtomicReference<Any?>()
        val steps = java.util.Collections.synchronizedList(ArrayList<Any?>())
        server(ConnTestKit.Exec.POOL) {
            recordClose(conn, cause)
            onConnect { c ->
                go.await(10, TimeUnit.SECONDS) // until the poller has read the bytes and the reset
                repeat(2) {
                    steps.add(attempt { c.writer().writeString("a late answer"); c.writer().flush() })
                }
                steps.add(c.isActive)
                repeat(3) { steps.add(attempt { c.reader().readInt() }) }
            }
            onRequest { }
        }.use { srv ->
            sendThenReset(srv, byteArrayOf(0, 0, 0, 42, 0, 0, 0, 43), conn)
            go.countDown()
            awaitTrue("the handler wrote twice and read three times") { steps.size == 6 }
            steps[0].shouldBeInstanceOf<ConnectionResetException>()
            steps[1].shouldBeInstanceOf<ConnectionResetException>()
            steps[2] shouldBe true // the failed write did not close the connection: input was left
            steps[3] shouldBe 42
            steps[4] shouldBe 43
            endedByReset(steps[5], cause, srv) // the discarded output's buffers went back too
        }
    }

    test("after a peer's FIN, a flush that fails on the reset its closed socket answers with leaves the unread input readable: every byte, then the end of input") {
        val total = 100_000 // below the input cap: the poller reads all of it and the FIN
        val go = CountDownLatch(1)
        val conn = AtomicReference<Connection>()
        val cause = AtomicReference<Any?>()
        val flushError = AtomicReference<Throwable?>()
        val read = java.io.ByteArrayOutputStream()
        val end = AtomicReference<Throwable?>()
        server(ConnTestKit.Exec.POOL) {
            recordClose(conn, cause)
            onConnect { c ->
                go.await(10, TimeUnit.SECONDS)
                // The peer closed its socket: the first answer reaches a closed socket, which resets the
                // connection, so a later flush fails. Answer every 5 ms until one does.
                val until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
                while (flushError.get() == null && System.nanoTime() - until < 0) {
                    try {
                        c.writer().writeString("ack")
                        c.writer().flush()
                        Thread.sleep(5)
                    } catch (e: Throwable) {
                        flushError.set(e)
                    }
                }
                end.set(
                    attempt {
                        while (true) {
                            val n = if (c.reader().len() > 0) c.reader().len() else 1 // blocks at the end
                            synchronized(read) { read.write(c.reader().readBinary(n)) }
                            c.reader().release()
                        }
                    } as Throwable,
                )
                c.close()
            }
            onRequest { }
        }.use { srv ->
            peer(srv.port).use { p -> p.getOutputStream().write(ConnTestKit.pattern(0, total)) } // then FIN
            awaitTrue("the poller read every byte and the FIN") {
                val nc = conn.get() as NetConnection?
                nc != null && nc.inputEof() && nc.inputLen() == total
            }
            go.countDown()
            awaitTrue("the handler read to the end") { end.get() != null }
            flushError.get().shouldBeInstanceOf<ConnectionResetException>()
            end.get().shouldBeInstanceOf<EofException>()
            synchronized(read) { read.toByteArray() }.contentEquals(ConnTestKit.pattern(0, total)) shouldBe true
            awaitTrue("the connection closed") { cause.get() != null }
            cause.get() shouldBe "none" // the handler closed it, after reading everything
            awaitTrue("its buffers went back") { srv.pool.bytesInUse() == 0L }
        }
    }

    test("a reset while reading is paused on queued output: the send task's failed write discards the queue and resumes reading, so the bytes the peer sent before its reset still reach the handler") {
        val later = 1000
        val conn = AtomicReference<Connection>()
        val cause = AtomicReference<Any?>()
        val consumed = java.util.concurrent.atomic.AtomicLong()
        val answered = java.util.concurrent.atomic.AtomicBoolean()
        server(ConnTestKit.Exec.INLINE, pool = io.netpoll.buffer.BufferPool(64L shl 20)) {
            recordClose(conn, cause)
            onRequest { c ->
                val n = c.reader().len()
                c.reader().skip(n)
                c.reader().release()
                consumed.addAndGet(n.toLong())
                if (answered.compareAndSet(false, true)) {
                    // more than the socket buffers hold: the rest stays queued and, inline, reading pauses
                    c.writer().writeBinary(ByteArray(12 shl 20))
                    c.writer().flush()
                }
            }
        }.use { srv ->
            peer(srv.port, configure = { receiveBufferSize = 4096 }).use { p ->
                p.getOutputStream().write("go!!".toByteArray())
                awaitTrue("reading paused on queued output") {
                    val nc = conn.get() as NetConnection?
                    nc != null && nc.pauseBits and NetConnection.PAUSE_OUTPUT_FULL != 0
                }
                p.getOutputStream().write(ByteArray(later)) // stays in the server's kernel: reading is paused
                p.setSoLinger(true, 0)
            } // RST
            awaitTrue("the connection closed") { cause.get() != null }
            consumed.get() shouldBe 4L + later
            cause.get().shouldBeInstanceOf<ConnectionResetException>()
            awaitTrue("its buffers went back, the discarded output's too") { srv.pool.bytesInUse() == 0L }
        }
    }

    test("a flush that takes the peer's reset while reading is paused on a full input: the bytes still in the kernel are read, then ConnectionClosedException caused by the reset, not the end of input") {
        val total = 40_000 // far above the input cap: most of it waits in the server's kernel
        val go = CountDownLatch(1)
        val conn = AtomicReference<Connection>()
        val cause = AtomicReference<Any?>()
        val steps = java.util.Collections.synchronizedList(ArrayList<Any?>())
        server(ConnTestKit.Exec.POOL) {
            maxInputBytes(4096)
            recordClose(conn, cause)
            onConnect { c ->
                go.await(10, TimeUnit.SECONDS) // until the reset waits in the socket, unread
                steps.add(attempt { c.writer().writeString("a late answer"); c.writer().flush() })
                steps.add(attempt { c.reader().readBinary(total) })
                steps.add(attempt { c.reader().readInt() })
            }
            onRequest { }
        }.use { srv ->
            peer(srv.port).use { p ->
                p.getOutputStream().write(ConnTestKit.pattern(0, total))
                awaitTrue("reading paused on the full input, the rest waiting in the server's kernel") {
                    val nc = conn.get() as NetConnection?
                    nc != null && nc.pauseBits and NetConnection.PAUSE_INPUT_FULL != 0 &&
                        nc.inputLen() + receiveQueue(srv.port, p.localPort) == total
                }
                p.setSoLinger(true, 0)
            } // RST: the poller does not read it, reading is paused
            go.countDown()
            awaitTrue("the handler wrote once and read twice") { steps.size == 3 }
            steps[0].shouldBeInstanceOf<ConnectionResetException>() // the write took the socket's reset
            (steps[1] as ByteArray).contentEquals(ConnTestKit.pattern(0, total)) shouldBe true
            endedByReset(steps[2], cause, srv)
        }
    }

    test("a handler that ends with the ConnectionResetException of a flush the peer's reset failed is logged as the connection's end, not as a handler failure; another exception is a WARNING") {
        val records = java.util.concurrent.ConcurrentLinkedQueue<java.util.logging.LogRecord>()
        val capture = object : java.util.logging.Handler() {
            override fun publish(r: java.util.logging.LogRecord) {
                if (r.message.startsWith("handler")) records.add(r)
            }
            override fun flush() {}
            override fun close() {}
        }
        val logger = java.util.logging.Logger.getLogger("io.netpoll.conn")
        val level = logger.level
        logger.addHandler(capture)
        logger.level = java.util.logging.Level.ALL // the DEBUG record too (JUL's FINE)
        try {
            val go = CountDownLatch(1)
            val conn = AtomicReference<Connection>()
            val cause = AtomicReference<Any?>()
            val flushError = AtomicReference<Throwable?>()
            server(ConnTestKit.Exec.POOL) {
                recordClose(conn, cause)
                onConnect { c ->
                    go.await(10, TimeUnit.SECONDS) // until the poller has read the bytes and the reset
                    c.writer().writeString("a late answer")
                    try {
                        c.writer().flush()
                    } catch (e: Throwable) {
                        flushError.set(e)
                        throw e // the handler ends with it
                    }
                }
                onRequest { throw IllegalStateException("not reached: the handler ended in onConnect") }
            }.use { srv ->
                sendThenReset(srv, byteArrayOf(0, 0, 0, 42), conn)
                go.countDown()
                awaitTrue("the connection closed") { cause.get() != null }
                flushError.get().shouldBeInstanceOf<ConnectionResetException>()
                awaitTrue("the handler's end was logged") { records.isNotEmpty() }
                records.map { it.level } shouldBe listOf(java.util.logging.Level.FINE)
            }
            records.clear()
            server(ConnTestKit.Exec.POOL) {
                onRequest { throw IllegalStateException("a handler bug") }
            }.use { srv ->
                peer(srv.port).use { p ->
                    p.getOutputStream().write(1)
                    p.getInputStream().read() shouldBe -1 // the failed handler's connection closed
                }
                awaitTrue("the failure was logged") { records.isNotEmpty() }
                records.map { it.level } shouldBe listOf(java.util.logging.Level.WARNING)
            }
        } finally {
            logger.removeHandler(capture)
            logger.level = level
        }
    }
})

/**
 * Bytes waiting unread in the kernel for the IPv4 loopback socket from [localPort] to [remotePort]
 * (its `rx_queue` in /proc/net/tcp), or 0 when there is no such socket.
 */
private fun receiveQueue(localPort: Int, remotePort: Int): Int {
    val local = ":%04X".format(localPort)
    val remote = ":%04X".format(remotePort)
    for (line in java.io.File("/proc/net/tcp").readLines().drop(1)) {
        val f = line.trim().split(Regex("\\s+"))
        if (f[1].endsWith(local) && f[2].endsWith(remote)) {
            return f[4].substringAfter(':').toInt(16)
        }
    }
    return 0
}
