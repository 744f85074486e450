package io.netpoll.conn

import io.netpoll.EventLoop
import io.netpoll.HandlerExecutors
import io.netpoll.Listener
import java.time.Duration

/**
 * A raw-echo server for tests that need it in a child JVM (with its own file-descriptor limit):
 * prints `PORT <n>` and `FDS <open fds>` on stdout, serves until its stdin closes, then shuts down
 * and exits.
 */
object EchoServerMain {
    /** Argument `log-at-start`: log a line first, as most servers do, so the logging backend is initialised. */
    @JvmStatic
    fun main(args: Array<String>) {
        if ("log-at-start" in args) {
            System.getLogger("io.netpoll.test").log(System.Logger.Level.INFO, "echo server starting")
        }
        val loop = EventLoop.builder()
            .pollers(1)
            .executor(HandlerExecutors.inline())
            .onRequest { c ->
                val r = c.reader()
                val n = r.len()
                if (n > 0) {
                    c.writer().append(r.slice(n))
                    r.release()
                    c.writer().flush()
                }
            }
            .build()
        val listener = Listener.create("tcp", "127.0.0.1:0")
        val server = Thread({ loop.serve(listener) }, "serve")
        server.start()
        println("PORT ${listener.port()}")
        println("FDS ${java.io.File("/proc/self/fd").list()!!.size}")
        System.out.flush()
        while (System.`in`.read() >= 0) {
            // serve until the parent closes our stdin
        }
        loop.shutdown(Duration.ofSeconds(1))
        server.join(5000)
        System.exit(0)
    }
}
