package io.netpoll.server

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.Connection
import io.netpoll.Dialer
import io.netpoll.EventLoop
import io.netpoll.HandlerExecutors
import io.netpoll.Listener
import java.io.DataInputStream
import java.io.DataOutputStream
import java.net.InetSocketAddress
import java.net.Socket
import java.time.Duration

class EchoSmokeTest : FunSpec({
    fun framedEcho(c: Connection) {
        val r = c.reader()
        var wrote = false
        while (r.len() >= 4) {
            val n = r.peek(4).getInt(0)
            if (r.len() < 4 + n) break
            c.writer().append(r.slice(4 + n))
            wrote = true
        }
        r.release()
        if (wrote) c.writer().flush()
    }

    for (executor in listOf("inline", "pool")) {
        test("framed echo round-trips every byte ($executor handlers)") {
            val loop = EventLoop.builder()
                .onRequest(::framedEcho)
                .pollers(2)
                .apply { if (executor == "inline") executor(HandlerExecutors.inline()) }
                .build()
            val listener = Listener.create("tcp", "127.0.0.1:0")
            val server = Thread { loop.serve(listener) }.apply { start() }
            val addr = listener.address() as InetSocketAddress
            Socket(addr.address, addr.port).use { s ->
                val out = DataOutputStream(s.getOutputStream())
                val inp = DataInputStream(s.getInputStream())
                for (size in listOf(0, 1, 100, 1024, 70_000, 300_000)) {
                    val payload = ByteArray(size) { (it * 7 + size).toByte() }
                    out.writeInt(size)
                    out.write(payload)
                    out.flush()
                    inp.readInt() shouldBe size
                    val back = ByteArray(size)
                    inp.readFully(back)
                    back.contentEquals(payload) shouldBe true
                }
            }
            loop.shutdown(Duration.ofSeconds(2))
            server.join(5000)
            server.isAlive shouldBe false
        }
    }

    test("a dialed connection with blocking reads talks to the event loop") {
        val loop = EventLoop.builder().onRequest(::framedEcho).pollers(1).executor(HandlerExecutors.inline()).build()
        val listener = Listener.create("tcp", "127.0.0.1:0")
        val server = Thread { loop.serve(listener) }.apply { start() }
        Dialer.dial("tcp", "127.0.0.1:${listener.port()}", Duration.ofSeconds(2)).use { c ->
            repeat(1000) { i ->
                val msg = "hello $i"
                c.writer().writeInt(msg.length)
                c.writer().writeString(msg)
                c.writer().flush()
                val n = c.reader().readInt()
                c.reader().readString(n) shouldBe msg
                c.reader().release()
            }
        }
        loop.shutdown(Duration.ofSeconds(2))
        server.join(5000)
    }
})
