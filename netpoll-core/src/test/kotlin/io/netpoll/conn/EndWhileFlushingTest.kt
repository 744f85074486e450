package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.conn.ConnTestKit.attempt
import io.netpoll.conn.ConnTestKit.awaitTrue
import io.netpoll.conn.ConnTestKit.peer
import io.netpoll.conn.ConnTestKit.recordClose
import io.netpoll.conn.ConnTestKit.server
import io.netpoll.error.ConnectionClosedException
import io.netpoll.error.ConnectionResetException
import io.netpoll.error.EofException
import java.net.Socket
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicReference

/**
 * The peer's input ends (a FIN, or a reset) while an application thread is flushing, so the poller
 * reads the end while that thread owns the send: the end is still delivered after every byte, and a
 * reset is never taken for a FIN. Each case runs over several connections, so that the poller reads
 * the end while the writer is inside a write on some of them.
 */
class EndWhileFlushingTest : FunSpec({
    test("a FIN that comes while an application thread flushes is read after every byte, as the end of input") {
        repeat(CONNECTIONS) {
            val (bytes, end) = endWhileFlushing { p -> p.shutdownOutput() }
            bytes.contentEquals(ConnTestKit.pattern(0, TOTAL)) shouldBe true
            end.shouldBeInstanceOf<EofException>()
        }
    }

    test("a reset that comes while an application thread flushes is read after every byte as ConnectionClosedException caused by the reset, never as the end of input") {
        repeat(CONNECTIONS) {
            val (bytes, end) = endWhileFlushing { p -> p.setSoLinger(true, 0); p.close() }
            bytes.contentEquals(ConnTestKit.pattern(0, TOTAL)) shouldBe true
            end.shouldBeInstanceOf<ConnectionClosedException>()
            end.cause.shouldBeInstanceOf<ConnectionResetException>()
        }
    }
})

private const val CONNECTIONS = 20
private const val TOTAL = 50_000

/**
 * One connection: its handler starts a thread that flushes 16 KB answers without pause (the peer
 * drains them, so the socket keeps taking them and that thread keeps owning the send) and reads the
 * input to its end itself. The peer sends [TOTAL] bytes, then ends its input with [end]. Returns the
 * bytes the handler read and what its read past them threw.
 */
private fun endWhileFlushing(end: (Socket) -> Unit): Pair<ByteArray, Throwable> {
    val conn = AtomicReference<Connection>()
    val cause = AtomicReference<Any?>()
    val read = java.io.ByteArrayOutputStream()
    val ended = AtomicReference<Throwable?>()
    val flushing = AtomicBoolean()
    server(ConnTestKit.Exec.POOL) {
        recordClose(conn, cause)
        onConnect { c ->
            val stop = AtomicBoolean()
            val writer = Thread {
                val answer = ByteArray(16 * 1024)
                val until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
                while (!stop.get() && System.nanoTime() - until < 0) {
                    if (attempt { c.writer().writeBinary(answer); c.writer().flush() } is Throwable) break
                    flushing.set(true)
                }
            }
            writer.start()
            val last = attempt {
                while (true) {
                    val n = if (c.reader().len() > 0) c.reader().len() else 1 // blocks at the end
                    synchronized(read) { read.write(c.reader().readBinary(n)) }
                    c.reader().release()
                }
            } as Throwable
            stop.set(true)
            writer.join()
            ended.set(last)
        }
        onRequest { }
    }.use { srv ->
        val p = peer(srv.port)
        val drain = Thread { attempt { p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream()) } }
        drain.start()
        awaitTrue("the handler's thread is flushing") { flushing.get() }
        p.getOutputStream().write(ConnTestKit.pattern(0, TOTAL))
        end(p)
        awaitTrue("the handler read to the end") { ended.get() != null }
        p.close()
        drain.join()
        return synchronized(read) { read.toByteArray() } to ended.get()!!
    }
}
