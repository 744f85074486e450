package io.netpoll.coroutines

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeFalse
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldContain
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.kotest.matchers.types.shouldBeSameInstanceAs
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.conn.NetConnection
import io.netpoll.error.ConnectionClosedException
import io.netpoll.poll.PollerThread
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.cancel
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.io.BufferedReader
import java.io.IOException
import java.io.InputStreamReader
import java.net.InetSocketAddress
import java.net.Socket
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ConcurrentLinkedQueue
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * The server DSL's structured concurrency: graceful shutdown (by shutdown() or by cancelling the
 * parent scope), errors confined to their connection, and where handlers run.
 */
class CoServerTest : FunSpec({
    timeout = 90_000L
    val RETURNED = "returned"

    /** A JDK client of the server at [port] that speaks lines. */
    class LineClient(port: Int) : AutoCloseable {
        val socket = Socket().apply {
            connect(InetSocketAddress("127.0.0.1", port), CoTestKit.WAIT_MS.toInt())
            soTimeout = CoTestKit.WAIT_MS.toInt()
            tcpNoDelay = true
        }
        private val inp = BufferedReader(InputStreamReader(socket.getInputStream()))
        fun send(line: String) = socket.getOutputStream().write("$line\n".toByteArray())
        fun readLine(): String? = inp.readLine()
        fun readEof(): Boolean = try {
            inp.read() == -1
        } catch (e: java.net.SocketTimeoutException) {
            false // nothing closed it within the wait
        } catch (e: IOException) {
            true // a reset is a close too
        }
        override fun close() = socket.close()
    }

    /** Whether a new connection to [port] is refused or closed at once (never served). */
    fun newConnectionRefused(port: Int): Boolean = try {
        Socket().use { s ->
            s.connect(InetSocketAddress("127.0.0.1", port), 2000)
            s.soTimeout = CoTestKit.WAIT_MS.toInt()
            s.getOutputStream().write("busy\n".toByteArray())
            s.getInputStream().read() == -1 // accepted while stopping: closed without an answer
        }
    } catch (e: IOException) {
        true // refused (the listener is closed), or reset
    }

    /**
     * Handlers by the first line: "idle" waits for input; "busy" works (not reading) until the test
     * [release]s it, then answers and returns; "stuck" never returns. Each records how it ended.
     */
    class ShutdownScenario {
        val started = ConcurrentHashMap<String, CompletableDeferred<SuspendConnection>>().apply {
            listOf("idle", "busy", "stuck").forEach { put(it, CompletableDeferred()) }
        }
        /** How each handler ended: [RETURNED] or what it threw. */
        val ended = ConcurrentHashMap<String, Any>()
        val ran = ConcurrentLinkedQueue<String>()
        val errors = ConcurrentLinkedQueue<Throwable>()
        /**
         * Ends the busy handler's work. The test completes it once the idle connection is closed, which
         * shutdown does only after it has counted the handlers: a work of fixed length could end first on
         * a slow machine, and the busy handler would count as idle.
         */
        val release = CompletableDeferred<Unit>()

        fun NetpollServerBuilder.configure() {
            listen("tcp", "127.0.0.1:0")
            pollers = 1
            onError = { _, e -> errors.add(e) }
            handle { conn ->
                val cmd = conn.readLine() ?: return@handle
                ran.add(cmd)
                started[cmd]?.complete(conn)
                try {
                    when (cmd) {
                        "idle" -> conn.readLine()
                        "busy" -> {
                            release.await()
                            conn.output.writeString("done\n")
                            conn.flush()
                        }
                        "stuck" -> awaitCancellation()
                    }
                    ended[cmd] = RETURNED
                } catch (e: Throwable) {
                    ended[cmd] = e
                    throw e
                }
            }
        }

        /** Connects the three clients and waits until each handler is where the scenario wants it. */
        suspend fun connect(port: Int): List<LineClient> {
            val clients = listOf("idle", "busy", "stuck").map { cmd -> LineClient(port).also { it.send(cmd) } }
            val idle = withTimeout(CoTestKit.WAIT_MS) { started.getValue("idle").await() }
            withTimeout(CoTestKit.WAIT_MS) { started.getValue("busy").await(); started.getValue("stuck").await() }
            awaitTrue("the idle handler parked in its read") {
                idle.connection.pollDesc().rg.hasWaiter() && idle.connection.inputLen() == 0
            }
            return clients
        }
    }

    test("shutdown(grace) stops accepting, closes idle connections, lets a busy handler finish and flush, cancels handlers still running after grace; the report counts match") {
        coTest {
            val sc = ShutdownScenario()
            val server = netpollServer { with(sc) { configure() } }
            val port = (server.address as InetSocketAddress).port
            val (idle, busy, stuck) = sc.connect(port)
            server.connections shouldBe 3

            val shutdown = async(start = CoroutineStart.UNDISPATCHED) { server.shutdown(grace = 5.seconds) } // room for a slowed test thread to release "busy" within it
            withContext(Dispatchers.IO) {
                idle.readEof().shouldBeTrue() // closed at once, during the grace period
                sc.release.complete(Unit)
                newConnectionRefused(port).shouldBeTrue()
                busy.readLine() shouldBe "done" // the busy handler finished within grace, its output flushed
                busy.readEof().shouldBeTrue()
                stuck.readEof().shouldBeTrue() // cancelled after grace, its connection closed
            }
            val report = shutdown.await()
            report.closedIdle() shouldBe 1
            report.drained() shouldBe 1
            report.forced() shouldBe 1
            sc.ended["idle"].shouldBeInstanceOf<ConnectionClosedException>()
            sc.ended["busy"] shouldBe RETURNED
            sc.ended["stuck"].shouldBeInstanceOf<CancellationException>()
            sc.errors.shouldBeEmpty() // closing and cancelling at shutdown are not handler errors
            server.connections shouldBe 0
            server.shutdown(1.seconds) shouldBeSameInstanceAs report // idempotent: the first report
            sc.ran.toSet() shouldBe setOf("idle", "busy", "stuck") // the refused connection never reached a handler
            listOf(idle, busy, stuck).forEach { it.close() }
        }
    }

    test("cancelling the server's parent scope shuts it down the same way, and the scope completes only after every handler has") {
        coTest {
            val sc = ShutdownScenario()
            val scope = CoroutineScope(Job() + Dispatchers.Default)
            val server = scope.netpollServer { with(sc) { configure() } }
            val port = (server.address as InetSocketAddress).port
            val (idle, busy, stuck) = sc.connect(port)

            scope.cancel()
            withContext(Dispatchers.IO) {
                idle.readEof().shouldBeTrue()
                sc.release.complete(Unit)
                newConnectionRefused(port).shouldBeTrue()
                busy.readLine() shouldBe "done"
                busy.readEof().shouldBeTrue()
            }
            withTimeout(15.seconds) { scope.coroutineContext[Job]!!.join() } // the default grace is 5 s
            // the scope completed only after every handler: each has recorded how it ended
            sc.ended.keys shouldBe setOf("idle", "busy", "stuck")
            sc.ended["idle"].shouldBeInstanceOf<ConnectionClosedException>()
            sc.ended["busy"] shouldBe RETURNED
            sc.ended["stuck"].shouldBeInstanceOf<CancellationException>()
            withContext(Dispatchers.IO) { stuck.readEof().shouldBeTrue() }
            sc.errors.shouldBeEmpty()
            server.connections shouldBe 0
            val report = server.shutdown(1.seconds) // the shutdown that the cancellation ran
            report.closedIdle() shouldBe 1
            report.drained() shouldBe 1
            report.forced() shouldBe 1
            listOf(idle, busy, stuck).forEach { it.close() }
        }
    }

    test("an exception thrown in one handler closes only its connection and goes to onError; a peer's close or reset is no error; the others keep working") {
        coTest {
            val errors = ConcurrentLinkedQueue<kotlin.Pair<SuspendConnection, Throwable>>()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 2
                onError = { conn, e -> errors.add(conn to e) }
                handle { conn ->
                    while (true) {
                        val line = conn.readLine() ?: break
                        if (line == "boom") throw IllegalStateException("boom")
                        conn.output.writeString("echo $line\n")
                        conn.flush()
                    }
                }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                withContext(Dispatchers.IO) {
                    LineClient(port).use { good ->
                        LineClient(port).use { bad ->
                            good.send("one")
                            good.readLine() shouldBe "echo one"
                            bad.send("boom")
                            bad.readEof().shouldBeTrue() // only its own connection closed
                            good.send("two")
                            good.readLine() shouldBe "echo two"

                            LineClient(port).use { finished ->
                                finished.send("x")
                                finished.readLine() shouldBe "echo x"
                                finished.socket.shutdownOutput() // readLine() -> null: the handler returns
                                finished.readEof().shouldBeTrue()
                            }
                            LineClient(port).use { reset ->
                                reset.send("y")
                                reset.readLine() shouldBe "echo y"
                                reset.socket.setSoLinger(true, 0)
                            } // RST: the handler's read fails with a reset
                            awaitTrue("only the good connection is left") { server.connections == 1 }
                            good.send("three")
                            good.readLine() shouldBe "echo three"
                        }
                    }
                }
                errors shouldHaveSize 1
                val (conn, e) = errors.single()
                e.shouldBeInstanceOf<IllegalStateException>()
                e.message shouldBe "boom"
                conn.isActive.shouldBeFalse()
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("a handler whose own withTimeout gives up is reported to onError with the TimeoutCancellationException, and its connection closes") {
        coTest {
            val errors = ConcurrentLinkedQueue<Throwable>()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                onError = { _, e -> errors.add(e) }
                handle { conn -> withTimeout(50.milliseconds) { conn.readLine() } } // the client sends nothing
            }
            try {
                val port = (server.address as InetSocketAddress).port
                withContext(Dispatchers.IO) {
                    LineClient(port).use { c -> c.readEof().shouldBeTrue() }
                }
                awaitTrue("onError got it") { errors.isNotEmpty() } // before: nothing, silently
                errors.single().shouldBeInstanceOf<kotlinx.coroutines.TimeoutCancellationException>()
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("a handler that ends with the ConnectionResetException of a flush the peer's reset failed is no error for onError") {
        coTest {
            val errors = ConcurrentLinkedQueue<Throwable>()
            val conn = CompletableDeferred<SuspendConnection>()
            val go = CompletableDeferred<Unit>()
            val flushError = CompletableDeferred<Throwable>()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                onError = { _, e -> errors.add(e) }
                handle { c ->
                    conn.complete(c)
                    go.await() // until the poller has read the peer's bytes and its reset, all unread
                    try {
                        c.writeAndFlush("a late answer\n".toByteArray())
                    } catch (e: Throwable) {
                        flushError.complete(e)
                        throw e // the handler ends with it
                    }
                }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                val c = withContext(Dispatchers.IO) {
                    LineClient(port).use { peer ->
                        peer.send("unread")
                        val c = conn.await()
                        awaitTrue("the server buffered the line") { c.connection.inputLen() > 0 }
                        peer.socket.setSoLinger(true, 0)
                        c
                    } // RST
                }
                awaitTrue("the poller read the reset") { c.connection.inputEof() }
                go.complete(Unit)
                withTimeout(CoTestKit.WAIT_MS) { flushError.await() }
                    .shouldBeInstanceOf<io.netpoll.error.ConnectionResetException>()
                awaitTrue("the connection closed") { server.connections == 0 }
                errors.shouldBeEmpty()
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    for (custom in listOf(false, true)) {
        val which = if (custom) "dispatcher = Dispatchers.Default runs handlers off the poller threads" else
            "by default a handler runs on its connection's poller thread, also after every resume"
        test(which) {
            coTest {
                val threads = ConcurrentLinkedQueue<kotlin.Pair<String, Thread>>()
                val pollerOf = CompletableDeferred<io.netpoll.poll.Poller>()
                val startToken = CompletableDeferred<Int>()
                val server = netpollServer {
                    listen("tcp", "127.0.0.1:0")
                    pollers = 2
                    if (custom) dispatcher = Dispatchers.Default
                    handle { conn ->
                        // before its first suspension: inside a round of its own on the poller (a
                        // call enters for free), a counted enter anywhere else
                        val t = conn.connection.enterCall()
                        conn.connection.leaveCall(t)
                        startToken.complete(t)
                        pollerOf.complete(conn.connection.poller())
                        threads.add("start" to Thread.currentThread())
                        while (true) {
                            val line = conn.readLine() ?: break
                            threads.add("after read" to Thread.currentThread())
                            conn.output.writeString("$line\n")
                            conn.flush()
                            threads.add("after flush" to Thread.currentThread())
                        }
                    }
                }
                try {
                    val port = (server.address as InetSocketAddress).port
                    withContext(Dispatchers.IO) {
                        LineClient(port).use { c ->
                            repeat(3) { i ->
                                c.send("l$i")
                                c.readLine() shouldBe "l$i"
                            }
                        }
                    }
                    val poller = withTimeout(CoTestKit.WAIT_MS) { pollerOf.await() }
                    server.pollers shouldContain poller
                    startToken.await() shouldBe (if (custom) NetConnection.ENTERED else NetConnection.NESTED)
                    awaitTrue("start, then 3 reads and 3 flushes recorded") { threads.size == 7 }
                    for ((where, t) in threads) {
                        withClue("$where on ${t.name}") {
                            if (custom) {
                                (t is PollerThread).shouldBeFalse()
                            } else {
                                t.shouldBeInstanceOf<PollerThread>()
                                (t.poller() === poller).shouldBeTrue() // the connection's own poller
                            }
                        }
                    }
                } finally {
                    server.shutdown(2.seconds)
                }
            }
        }
    }

    test("a handler gets every line a client sent before its reset, then the read fails with the reset, which is no error") {
        coTest {
            val errors = ConcurrentLinkedQueue<Throwable>()
            val gate = CompletableDeferred<Unit>()
            val accepted = CompletableDeferred<SuspendConnection>()
            val lines = ConcurrentLinkedQueue<String>()
            val ended = CompletableDeferred<Throwable>()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                onError = { _, e -> errors.add(e) }
                handle { conn ->
                    accepted.complete(conn)
                    gate.await() // busy elsewhere: the lines and the reset arrive meanwhile
                    try {
                        while (true) lines.add(conn.readLine() ?: break)
                        ended.complete(IllegalStateException("EOF instead of the reset"))
                    } catch (e: Throwable) {
                        ended.complete(e)
                        throw e
                    }
                }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                val conn = withContext(Dispatchers.IO) {
                    LineClient(port).use { c ->
                        val sent = (0 until 100).joinToString("") { "line $it\n" }
                        c.socket.getOutputStream().write(sent.toByteArray())
                        val conn = withTimeout(10.seconds) { accepted.await() }
                        awaitTrue("the server buffered the lines") { conn.connection.inputLen() == sent.length }
                        c.socket.setSoLinger(true, 0)
                        conn
                    } // RST
                }
                awaitTrue("the poller read the reset") { conn.connection.inputEof() }
                gate.complete(Unit)
                val e = withTimeout(10.seconds) { ended.await() }
                lines.toList() shouldBe (0 until 100).map { "line $it" }
                e.shouldBeInstanceOf<ConnectionClosedException>()
                e.cause.shouldBeInstanceOf<io.netpoll.error.ConnectionResetException>()
                awaitTrue("the connection is gone") { server.connections == 0 }
                errors.shouldBeEmpty()
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("a handler that returns closes its connection; the server counts only open connections") {
        coTest {
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                handle { conn ->
                    conn.output.writeString("hello\n")
                    conn.flush()
                }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                withContext(Dispatchers.IO) {
                    repeat(5) {
                        LineClient(port).use { c ->
                            c.readLine() shouldBe "hello"
                            c.readEof().shouldBeTrue()
                        }
                    }
                }
                awaitTrue("every connection closed") { server.connections == 0 }
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("a handler cancelled before its dispatcher ever ran it (the executor rejects it) still gets its connection closed") {
        coTest {
            val rejecting = java.util.concurrent.Executors.newSingleThreadExecutor().also { it.shutdown() }
            val ran = java.util.concurrent.atomic.AtomicBoolean()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                dispatcher = rejecting.asCoroutineDispatcher() // kotlinx cancels a job its executor rejects
                handle { ran.set(true) }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                withContext(Dispatchers.IO) {
                    LineClient(port).use { c -> c.readEof().shouldBeTrue() } // before: open until shutdown
                }
                ran.get().shouldBeFalse()
                awaitTrue("the connection left the count") { server.connections == 0 }
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("a dispatcher that throws when the handler starts: the connection is closed through itself, once, and leaves the count") {
        coTest {
            val throwing = object : kotlinx.coroutines.CoroutineDispatcher() {
                override fun dispatch(context: kotlin.coroutines.CoroutineContext, block: Runnable) {
                    throw IllegalStateException("no thread for you")
                }
            }
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                dispatcher = throwing
                handle { }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                withContext(Dispatchers.IO) {
                    LineClient(port).use { c -> c.readEof().shouldBeTrue() }
                }
                // before: the acceptor closed the bare fd, and the connection (registered, counted)
                // stayed open on a number the next accepted socket could take
                awaitTrue("the connection left the count") { server.connections == 0 }
            } finally {
                server.shutdown(2.seconds)
            }
        }
    }

    test("shutdown does not wait for ever for a cancelled handler stuck in blocking code: it closes its connection and stops without it; the handler ends once unblocked") {
        coTest {
            val release = java.util.concurrent.CountDownLatch(1)
            val blocking = java.util.concurrent.CountDownLatch(1)
            val ended = java.util.concurrent.atomic.AtomicBoolean()
            val server = netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                handle {
                    try {
                        withContext(Dispatchers.IO) {
                            blocking.countDown()
                            release.await(60, java.util.concurrent.TimeUnit.SECONDS) // ignores cancellation
                        }
                    } finally {
                        ended.set(true) // resumed on a stopped poller: before, never
                    }
                }
            }
            try {
                val port = (server.address as InetSocketAddress).port
                withContext(Dispatchers.IO) {
                    LineClient(port).use { c ->
                        blocking.await(CoTestKit.WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS).shouldBeTrue()
                        val report = withTimeout(20.seconds) { server.shutdown(100.milliseconds) } // before: for ever
                        report.forced() shouldBe 1
                        release.count shouldBe 1L // it returned while the handler still blocked
                        c.readEof().shouldBeTrue()
                    }
                }
                release.countDown()
                awaitTrue("the handler ended") { ended.get() }
            } finally {
                release.countDown()
            }
        }
    }

    test("shutdown racing with a connection that closes on its own at the same moment never fails") {
        // shutdown snapshots the open connections while their close callbacks remove them
        coTest(timeout = 60.seconds) {
            repeat(300) { round ->
                val server = netpollServer {
                    listen("tcp", "127.0.0.1:0")
                    pollers = 1
                    stallThreshold = null
                    handle { conn -> conn.readLine() } // returns at the client's FIN: the connection closes
                }
                val port = (server.address as InetSocketAddress).port
                val s = withContext(Dispatchers.IO) { Socket("127.0.0.1", port) }
                awaitTrue("round $round: connected") { server.connections == 1 }
                s.shutdownOutput() // the handler returns and the server closes, racing with the shutdown below
                if (round % 3 == 1) Thread.sleep(0, (round * 7919) % 100_000)
                val report = server.shutdown(1.seconds) // used to throw NoSuchElementException now and then
                report.forced() shouldBe 0
                server.connections shouldBe 0
                s.close()
            }
        }
    }

    test("a handler can shut its server down: shutdown returns its report instead of waiting for the calling handler") {
        coTest {
            val report = CompletableDeferred<io.netpoll.ShutdownReport>()
            lateinit var server: NetpollServer
            // a scope of its own: if the shutdown hangs, the test fails on its timeouts instead of
            // hanging in runBlocking, which would wait for the server's coroutine
            val serverScope = CoroutineScope(Job())
            server = serverScope.netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                handle { conn ->
                    while (true) {
                        val line = conn.readLine() ?: break
                        if (line == "shutdown") {
                            report.complete(server.shutdown(grace = 500.milliseconds))
                            break
                        }
                        conn.output.writeString("echo $line\n")
                        conn.flush()
                    }
                }
            }
            val port = (server.address as InetSocketAddress).port
            withContext(Dispatchers.IO) {
                LineClient(port).use { idle ->
                    idle.send("a")
                    idle.readLine() shouldBe "echo a"
                    LineClient(port).use { admin ->
                        admin.send("shutdown")
                        val r = withTimeout(10.seconds) { report.await() } // it waited for itself forever
                        r.closedIdle() shouldBe 1 // the other connection; the caller is not counted
                        r.drained() shouldBe 0
                        r.forced() shouldBe 0
                        idle.readEof().shouldBeTrue()
                        admin.readEof().shouldBeTrue()
                    }
                }
            }
            // the caller's own connection closes when its handler returns, after the report; it
            // leaves the count once its close callbacks ran
            awaitTrue("no connection left") { server.connections == 0 }
            newConnectionRefused(port).shouldBeTrue()
            serverScope.cancel()
        }
    }

    test("a handler that calls shutdown while another shutdown is under way is cancelled with the late handlers, not waited for forever") {
        coTest {
            val holding = CompletableDeferred<Unit>()
            val go = CompletableDeferred<Unit>()
            val calling = CompletableDeferred<Unit>()
            val ended = CompletableDeferred<Throwable?>()
            lateinit var server: NetpollServer
            // a scope of its own: if the shutdown hangs, the test fails on its timeouts instead of
            // hanging in runBlocking, which would wait for the server's coroutine
            val serverScope = CoroutineScope(Job())
            server = serverScope.netpollServer {
                listen("tcp", "127.0.0.1:0")
                pollers = 1
                handle { conn ->
                    conn.readLine()
                    holding.complete(Unit)
                    try {
                        go.await()
                        calling.complete(Unit)
                        server.shutdown(1.seconds) // the second call: waits for the first one's report
                        ended.complete(null)
                    } catch (e: Throwable) {
                        ended.complete(e)
                        throw e
                    }
                }
            }
            val port = (server.address as InetSocketAddress).port
            withContext(Dispatchers.IO) {
                LineClient(port).use { c ->
                    c.send("hold")
                    withTimeout(10.seconds) { holding.await() } // busy, not idle: not closed at once by the shutdown
                    val first = serverScope.async(start = CoroutineStart.UNDISPATCHED) { server.shutdown(grace = 500.milliseconds) }
                    go.complete(Unit)
                    withTimeout(10.seconds) { calling.await() }
                    val report = withTimeout(10.seconds) { first.await() } // each waited for the other forever
                    report.forced() shouldBe 1
                    withTimeout(10.seconds) { ended.await() }.shouldBeInstanceOf<CancellationException>()
                    c.readEof().shouldBeTrue()
                }
            }
            serverScope.cancel()
        }
    }
})
