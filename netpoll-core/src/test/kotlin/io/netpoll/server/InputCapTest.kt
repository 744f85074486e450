package io.netpoll.server

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.Connection
import io.netpoll.EventLoop
import io.netpoll.HandlerExecutors
import io.netpoll.Listener
import io.netpoll.error.LimitExceededException
import java.io.DataOutputStream
import java.net.InetSocketAddress
import java.net.Socket
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

class InputCapTest : FunSpec({
    test("an inline handler waiting for a message larger than maxInputBytes gets its connection closed, not stalled") {
        val cause = CompletableFuture<Throwable?>()
        val loop = EventLoop.builder()
            .onRequest { c: Connection ->
                val r = c.reader()
                if (r.len() >= 4 && r.len() >= 4 + r.peekInt(0)) {
                    c.writer().append(r.slice(4 + r.peekInt(0)))
                    r.release()
                    c.writer().flush()
                }
            }
            .onPrepare { c -> c.addCloseCallback { cause.complete(it.closeCause()) } }
            .executor(HandlerExecutors.inline())
            .maxInputBytes(64 * 1024)
            .pollers(1)
            .build()
        val l = Listener.create("tcp", "127.0.0.1:0")
        val t = Thread { loop.serve(l) }.apply { start() }
        val addr = l.address() as InetSocketAddress
        Socket(addr.address, addr.port).use { s ->
            val out = DataOutputStream(s.getOutputStream())
            out.writeInt(200_000)
            runCatching { out.write(ByteArray(200_000)); out.flush() } // the server may close mid-write
            val c = cause.get(10, TimeUnit.SECONDS)
            c.shouldBeInstanceOf<LimitExceededException>()
            c.message shouldBe "limit exceeded: unconsumed input (maxInputBytes) longer than 65536 bytes"
        }
        loop.shutdown(Duration.ofSeconds(1))
        t.join(5000)
    }
})
