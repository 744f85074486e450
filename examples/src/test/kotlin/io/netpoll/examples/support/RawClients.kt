package io.netpoll.examples.support

import java.io.ByteArrayOutputStream
import java.io.InputStream
import java.net.InetSocketAddress
import java.net.Socket
import java.net.SocketException
import java.net.SocketTimeoutException
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.atomic.AtomicReference
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** A plain JDK blocking socket to 127.0.0.1:[port] with a read timeout (every read is bounded). */
fun rawSocket(port: Int, readTimeout: Duration = 5.seconds): Socket = Socket().apply {
    tcpNoDelay = true
    soTimeout = readTimeout.inWholeMilliseconds.toInt()
    connect(InetSocketAddress("127.0.0.1", port), 5000)
}

/** What the peer did after the bytes we read: closed (FIN), reset, or nothing within the timeout. */
enum class Ending { EOF, RESET, OPEN }

/** Reads until EOF, reset or the socket's read timeout; returns the bytes and how it ended. */
fun readToEnd(s: Socket): Pair<ByteArray, Ending> {
    val out = ByteArrayOutputStream()
    val b = ByteArray(8192)
    val input = s.getInputStream()
    while (true) {
        val n = try {
            input.read(b)
        } catch (e: SocketTimeoutException) {
            return out.toByteArray() to Ending.OPEN
        } catch (e: SocketException) {
            return out.toByteArray() to Ending.RESET
        }
        if (n < 0) return out.toByteArray() to Ending.EOF
        out.write(b, 0, n)
    }
}

/** An HTTP/1.1 response as read off the wire. */
data class HttpResponse(val status: Int, val reason: String, val headers: List<Pair<String, String>>, val body: ByteArray) {
    fun header(name: String): String? = headers.firstOrNull { it.first.equals(name, ignoreCase = true) }?.second
    fun headerCount(name: String): Int = headers.count { it.first.equals(name, ignoreCase = true) }
    val text: String get() = String(body, Charsets.ISO_8859_1)
    override fun toString(): String = "$status $reason $headers ${text.take(100)}"
}

/** Reads one response (Content-Length framed; no body for HEAD). Throws on EOF or timeout. */
fun readHttpResponse(input: InputStream, head: Boolean = false): HttpResponse {
    fun line(): String {
        val sb = StringBuilder()
        while (true) {
            val c = input.read()
            if (c < 0) throw java.io.EOFException("EOF in a response head after '$sb'")
            if (c == '\n'.code) return sb.toString().removeSuffix("\r")
            sb.append(c.toChar())
        }
    }
    val status = line()
    val m = Regex("""HTTP/1\.[01] (\d{3}) (.*)""").matchEntire(status) ?: throw AssertionError("bad status line '$status'")
    val headers = ArrayList<Pair<String, String>>()
    while (true) {
        val l = line()
        if (l.isEmpty()) break
        val colon = l.indexOf(':')
        headers += l.substring(0, colon) to l.substring(colon + 1).trim()
    }
    val len = headers.firstOrNull { it.first.equals("Content-Length", true) }?.second?.toInt() ?: 0
    val body = if (head) ByteArray(0) else input.readNBytes(len)
    if (!head && body.size < len) throw java.io.EOFException("EOF in a body")
    return HttpResponse(m.groupValues[1].toInt(), m.groupValues[2], headers, body)
}

/**
 * A well-behaved client on its own thread: one keep-alive connection, one request at a time
 * ([request]), checking every reply against [check], until [close]. Used beside misbehaving
 * connections to show the server keeps serving everyone else.
 */
class GoodClient(
    private val port: Int,
    private val request: ByteArray,
    private val check: (InputStream) -> Boolean,
) : AutoCloseable {
    private val ok = AtomicLong()
    private val failure = AtomicReference<Throwable?>()
    @Volatile private var running = true
    private val thread = Thread({ loop() }, "good-client").apply {
        isDaemon = true
        start()
    }

    init {
        try {
            assertProgress(1) // connected and answered once before the test goes on
        } catch (t: Throwable) {
            running = false // use {} never gets this object: stop the thread here
            throw t
        }
    }

    private fun loop() {
        try {
            rawSocket(port, 5.seconds).use { s ->
                val out = s.getOutputStream()
                val input = s.getInputStream()
                while (running) {
                    out.write(request)
                    out.flush()
                    if (!check(input)) throw AssertionError("unexpected reply")
                    ok.incrementAndGet()
                }
            }
        } catch (e: Throwable) {
            if (running) failure.set(e)
        }
    }

    /** Answers received so far. */
    val answered: Long get() = ok.get()

    /** Throws if the client saw a failure. */
    fun assertHealthy() {
        failure.get()?.let { throw AssertionError("the good client failed after $answered answers", it) }
    }

    /** Waits (bounded) until [n] more answers arrived than now, proving the server still serves it. */
    fun assertProgress(n: Long = 10, timeout: Duration = 5.seconds) {
        val target = answered + n
        val deadline = System.nanoTime() + timeout.inWholeNanoseconds
        while (answered < target && System.nanoTime() < deadline) {
            assertHealthy()
            Thread.sleep(5)
        }
        assertHealthy()
        if (answered < target) throw AssertionError("the good client got only ${answered - target + n} of $n answers in $timeout")
    }

    override fun close() {
        running = false
        thread.join(10_000)
        assertHealthy()
    }
}

/** Waits (bounded) until [condition] holds; polls every few milliseconds. */
fun eventually(timeout: Duration = 5.seconds, what: String = "condition", condition: () -> Boolean) {
    val deadline = System.nanoTime() + timeout.inWholeNanoseconds
    while (!condition()) {
        if (System.nanoTime() > deadline) throw AssertionError("$what did not hold within $timeout")
        Thread.sleep(5)
    }
}
