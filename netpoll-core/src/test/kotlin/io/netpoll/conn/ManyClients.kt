package io.netpoll.conn

import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.InetSocketAddress
import java.net.StandardSocketOptions
import java.nio.ByteBuffer
import java.nio.channels.SelectionKey
import java.nio.channels.Selector
import java.nio.channels.SocketChannel

/**
 * Many concurrent framed-echo clients on one NIO selector thread: opens [n] connections (at most
 * [maxConnecting] handshakes at a time), and [round] sends one 4-byte-length-prefixed frame on every
 * connection and checks its echo. All connections stay open until [close].
 */
class ManyClients(private val port: Int, private val n: Int, private val maxConnecting: Int = 500) : AutoCloseable {
    private class Client(val id: Int, val ch: SocketChannel) {
        var out: ByteBuffer? = null
        val inp: ByteBuffer = ByteBuffer.allocate(FRAME)
        var done = false
    }

    private val selector = Selector.open()
    private val clients = ArrayList<Client>(n)

    /** Opens every connection; returns how many connected before [deadlineNanos]. */
    fun connectAll(deadlineNanos: Long): Int {
        var started = 0
        var connecting = 0
        var connected = 0
        while (connected < n && System.nanoTime() - deadlineNanos < 0) {
            while (started < n && connecting < maxConnecting) {
                val ch = SocketChannel.open()
                ch.configureBlocking(false)
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true)
                val c = Client(started, ch)
                clients.add(c)
                if (ch.connect(InetSocketAddress("127.0.0.1", port))) connected++ else {
                    ch.register(selector, SelectionKey.OP_CONNECT, c)
                    connecting++
                }
                started++
            }
            selector.select(100)
            val it = selector.selectedKeys().iterator()
            while (it.hasNext()) {
                val k = it.next()
                it.remove()
                val c = k.attachment() as Client
                if (c.ch.finishConnect()) {
                    k.interestOps(0)
                    connecting--
                    connected++
                }
            }
        }
        return connected
    }

    /** One frame per connection (payload carries the id and [tag]); returns how many echoed correctly. */
    fun round(tag: Int, deadlineNanos: Long): Int {
        for (c in clients) {
            val f = ByteBuffer.allocate(FRAME)
            f.putInt(FRAME - 4).putInt(c.id).putInt(tag)
            while (f.hasRemaining()) f.put((c.id + tag + f.position()).toByte())
            f.flip()
            c.out = f
            c.inp.clear()
            c.done = false
            c.ch.write(f)
            val key = c.ch.keyFor(selector) ?: c.ch.register(selector, 0, c)
            key.interestOps(SelectionKey.OP_READ or (if (f.hasRemaining()) SelectionKey.OP_WRITE else 0))
        }
        var finished = 0
        var good = 0
        while (finished < clients.size && System.nanoTime() - deadlineNanos < 0) {
            selector.select(100)
            val it = selector.selectedKeys().iterator()
            while (it.hasNext()) {
                val k = it.next()
                it.remove()
                val c = k.attachment() as Client
                if (k.isWritable) {
                    c.ch.write(c.out!!)
                    if (!c.out!!.hasRemaining()) k.interestOps(SelectionKey.OP_READ)
                }
                if (k.isReadable && !c.done) {
                    val r = c.ch.read(c.inp)
                    if (r < 0 || !c.inp.hasRemaining()) {
                        c.done = true
                        finished++
                        k.interestOps(0)
                        c.inp.flip()
                        if (r >= 0 && c.inp == c.out!!.flip()) good++
                    }
                }
            }
        }
        return good
    }

    override fun close() {
        for (c in clients) c.ch.close()
        selector.close()
    }

    companion object {
        const val FRAME = 64

        /**
         * Child-JVM mode (a process with its own fd limit): `port n`. Prints `CONNECTED k`, `ROUND1 good`,
         * waits for a line on stdin, prints `ROUND2 good`, closes everything and exits.
         */
        @JvmStatic
        fun main(args: Array<String>) {
            val port = args[0].toInt()
            val n = args[1].toInt()
            val stdin = BufferedReader(InputStreamReader(System.`in`))
            ManyClients(port, n).use { m ->
                println("CONNECTED ${m.connectAll(System.nanoTime() + 60_000_000_000L)}")
                println("ROUND1 ${m.round(1, System.nanoTime() + 60_000_000_000L)}")
                System.out.flush()
                stdin.readLine()
                println("ROUND2 ${m.round(2, System.nanoTime() + 60_000_000_000L)}")
                System.out.flush()
                stdin.readLine()
            }
            System.exit(0)
        }
    }
}
