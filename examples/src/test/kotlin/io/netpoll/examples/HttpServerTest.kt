package io.netpoll.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldMatch
import io.kotest.matchers.string.shouldNotContain
import io.netpoll.Listener
import io.netpoll.examples.http.HttpResponses
import io.netpoll.examples.http.HttpServer
import io.netpoll.examples.support.Ending
import io.netpoll.examples.support.GoodClient
import io.netpoll.examples.support.ProcResult
import io.netpoll.examples.support.Tools
import io.netpoll.examples.support.eventually
import io.netpoll.examples.support.rawSocket
import io.netpoll.examples.support.readHttpResponse
import io.netpoll.examples.support.readToEnd
import io.netpoll.examples.support.runTool
import java.io.File
import java.net.InetSocketAddress
import java.net.SocketException
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import kotlin.concurrent.thread
import kotlin.math.abs
import kotlin.time.Duration.Companion.seconds

/**
 * The HTTP example server ([HttpServer], Java callback API) driven by curl, wrk and raw JDK sockets.
 * The server runs in-process on an ephemeral loopback port with a 2 s idle timeout.
 */
class HttpServerTest : FunSpec({
    val idle = java.time.Duration.ofSeconds(2)
    val loop = HttpServer(idle).eventLoop()
    val listener = Listener.create("tcp", "127.0.0.1:0")
    val port = (listener.address() as InetSocketAddress).port
    val serving = thread(isDaemon = true, name = "http-serve") { loop.serve(listener) }
    val url = "http://127.0.0.1:$port"
    afterSpec {
        loop.shutdown(java.time.Duration.ofSeconds(2))
        serving.join(5000)
    }

    val imfFixdate = Regex("""(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT""")
    val get = "GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n".toByteArray()

    fun goodClient() = GoodClient(port, get) { input ->
        val r = readHttpResponse(input)
        r.status == 200 && r.text == "Hello, World!"
    }

    /** Sends [request] on a fresh connection; returns the one response and how the connection ended. */
    fun exchange(request: ByteArray): Pair<io.netpoll.examples.support.HttpResponse, Ending> =
        rawSocket(port, 5.seconds).use { s ->
            s.getOutputStream().write(request)
            val (bytes, ending) = readToEnd(s)
            readHttpResponse(bytes.inputStream()) to ending
        }

    fun wrkOk(r: ProcResult): Long {
        r.exit shouldBe 0
        // wrk prints these two lines only when they are not zero
        r.out shouldNotContain "Non-2xx or 3xx responses"
        r.out shouldNotContain "Socket errors"
        val m = Regex("""(\d+) requests in [\d.]+\w+""").find(r.out) ?: throw AssertionError("no summary in\n$r")
        return m.groupValues[1].toLong()
    }

    run {
        test("curl: GET /plaintext answers Hello, World! with Content-Length, Date and Server").config(enabledOrReasonIf = Tools.need("curl")) {
            val r = runTool("curl", "-s", "-i", "--max-time", "5", "$url/plaintext")
            r.exit shouldBe 0
            val resp = readHttpResponse(r.out.byteInputStream(Charsets.ISO_8859_1))
            resp.status shouldBe 200
            resp.text shouldBe "Hello, World!"
            resp.header("Content-Length") shouldBe "13"
            resp.header("Content-Type") shouldBe "text/plain"
            resp.header("Server") shouldBe "netpoll"
            resp.headerCount("Date") shouldBe 1
            val date = resp.header("Date")!!
            date shouldMatch imfFixdate
            val sent = ZonedDateTime.parse(date, DateTimeFormatter.RFC_1123_DATE_TIME).toEpochSecond()
            abs(sent - System.currentTimeMillis() / 1000) shouldBeLessThan 5L
        }

        test("curl: HEAD /plaintext answers the same headers without a body").config(enabledOrReasonIf = Tools.need("curl")) {
            val r = runTool("curl", "-s", "-I", "--max-time", "5", "$url/plaintext")
            r.exit shouldBe 0
            val resp = readHttpResponse(r.out.byteInputStream(Charsets.ISO_8859_1), head = true)
            resp.status shouldBe 200
            resp.header("Content-Length") shouldBe "13"
            r.out shouldNotContain "Hello"
        }

        test("curl: an unknown path gets 404 and another method on /plaintext gets 405").config(enabledOrReasonIf = Tools.need("curl")) {
            runTool("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "$url/nope").out shouldBe "404"
            runTool("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "$url/").out shouldBe "404"
            val post = runTool("curl", "-s", "-i", "--max-time", "5", "-d", "some body", "$url/plaintext")
            val resp = readHttpResponse(post.out.byteInputStream(Charsets.ISO_8859_1))
            resp.status shouldBe 405
            resp.header("Allow") shouldBe "GET, HEAD"
        }

        test("curl: keep-alive reuses one connection for several requests, HTTP/1.1 and HTTP/1.0").config(enabledOrReasonIf = Tools.need("curl")) {
            val r11 = runTool("curl", "-s", "-v", "--max-time", "5", "-o", "/dev/null", "-o", "/dev/null", "$url/plaintext", "$url/plaintext")
            r11.exit shouldBe 0
            r11.err shouldContain "Re-using existing connection"
            val r10 = runTool("curl", "-s", "-v", "--http1.0", "-H", "Connection: keep-alive", "--max-time", "5",
                "-o", "/dev/null", "-o", "/dev/null", "$url/plaintext", "$url/plaintext")
            r10.exit shouldBe 0
            r10.err shouldContain "Re-using existing connection"
            r10.err shouldContain "< Connection: keep-alive"
        }

        test("curl: Connection: close is answered with Connection: close, then the server closes").config(enabledOrReasonIf = Tools.need("curl")) {
            val r = runTool("curl", "-s", "-i", "-H", "Connection: close", "--max-time", "5", "$url/plaintext")
            r.exit shouldBe 0
            val resp = readHttpResponse(r.out.byteInputStream(Charsets.ISO_8859_1))
            resp.status shouldBe 200
            resp.header("Connection") shouldBe "close"
            // and the server really closes: a raw client sees the answer, then EOF
            val (raw, ending) = exchange("GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".toByteArray())
            raw.status shouldBe 200
            raw.header("Connection") shouldBe "close"
            ending shouldBe Ending.EOF
        }
    }

    run {
        test("wrk: keep-alive load: zero non-2xx responses and zero socket errors").config(enabledOrReasonIf = Tools.need("wrk")) {
            val r = runTool("wrk", "-t1", "-c16", "-d2s", "--timeout", "10s", "$url/plaintext", timeout = 30.seconds)
            wrkOk(r) shouldBeGreaterThan 16L // more than one answer per connection; a rate belongs in benchmarks
        }

        test("wrk: 16 pipelined requests per call: zero non-2xx responses and zero socket errors").config(enabledOrReasonIf = Tools.need("wrk")) {
            val script = File.createTempFile("pipeline", ".lua")
            try {
                script.writeText(
                    """
                    init = function(args)
                      local r = {}
                      for i = 1, 16 do r[i] = wrk.format(nil, "/plaintext") end
                      req = table.concat(r)
                    end
                    request = function() return req end
                    """.trimIndent(),
                )
                val r = runTool("wrk", "-t1", "-c16", "-d2s", "--timeout", "10s", "-s", script.path, "$url/plaintext", timeout = 30.seconds)
                wrkOk(r) shouldBeGreaterThan 256L // more than one batch of 16 per connection
            } finally {
                script.delete()
            }
        }
    }

    run {
        test("pipelined requests are answered in order, bodies skipped") {
            val requests = listOf(
                "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n",
                "HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
                "POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
                "PUT /x HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\n\r\nabc",
                "\r\nGET /plaintext?q=1 HTTP/1.1\nHost: x\n\n",
                "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                "GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            rawSocket(port).use { s ->
                s.getOutputStream().write(requests.joinToString("").toByteArray())
                val input = s.getInputStream()
                val heads = listOf(false, true, false, false, false, false, false, false)
                val got = heads.map { readHttpResponse(input, it) }
                got.map { it.status } shouldContainExactly listOf(200, 200, 404, 405, 404, 200, 200, 200)
                got[0].text shouldBe "Hello, World!"
                got[1].body.size shouldBe 0
                got[6].header("Connection") shouldBe "keep-alive"
                got[7].header("Connection") shouldBe "close"
                readToEnd(s).second shouldBe Ending.EOF
            }
        }

        test("Date is formatted once a second, not per request, and follows the clock") {
            val before = HttpResponses.refreshes()
            val start = System.nanoTime()
            val dates = rawSocket(port).use { s ->
                s.getOutputStream().write(ByteArray(get.size * 500) { get[it % get.size] })
                (1..500).map { readHttpResponse(s.getInputStream()).header("Date")!! }
            }
            val seconds = (System.nanoTime() - start) / 1_000_000_000 + 2
            dates.toSet().size shouldBeLessThanOrEqual seconds.toInt()
            (HttpResponses.refreshes() - before) shouldBeLessThanOrEqual seconds
            // and the next second brings a new date (bounded wait)
            val first = dates.last()
            eventually(5.seconds, "a new Date") {
                rawSocket(port).use { s ->
                    s.getOutputStream().write(get)
                    readHttpResponse(s.getInputStream()).header("Date") != first
                }
            }
        }
    }

    run {
        test("misbehaving: malformed request lines get 400 and the connection is closed") {
            goodClient().use { good ->
                for (bad in listOf(
                    "GARBAGE\r\n\r\n",
                    "GET /plaintext\r\n\r\n",
                    "GET  /plaintext HTTP/1.1\r\nHost: x\r\n\r\n",
                    "GET /plain text HTTP/1.1\r\nHost: x\r\n\r\n",
                    "GET /plaintext HTTP/1.1 extra\r\nHost: x\r\n\r\n",
                    "GET /plaintext HTTX/1.1\r\nHost: x\r\n\r\n",
                    "G@T /plaintext HTTP/1.1\r\nHost: x\r\n\r\n",
                    "GET /plaintext HTTP/1.1\rHost: x\r\n\r\n",
                )) {
                    val (resp, ending) = exchange(bad.toByteArray())
                    withClue(bad) {
                        resp.status shouldBe 400
                        resp.header("Connection") shouldBe "close"
                        ending shouldBe Ending.EOF
                    }
                }
                good.assertProgress()
            }
        }

        test("misbehaving: malformed headers get 400 and the connection is closed") {
            goodClient().use { good ->
                for (bad in listOf(
                    "GET /plaintext HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
                    "GET /plaintext HTTP/1.1\r\nHost: x\r\nName : value\r\n\r\n",
                    "GET /plaintext HTTP/1.1\r\nHost: x\r\n: value\r\n\r\n",
                    "GET /plaintext HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
                    "GET /plaintext HTTP/1.1\r\nHost: x\r\nX: a\u0001b\r\n\r\n",
                    "GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n",
                    "GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                    "GET /plaintext HTTP/1.1\r\n\r\n",
                    "GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                )) {
                    val (resp, ending) = exchange(bad.toByteArray())
                    withClue(bad) {
                        resp.status shouldBe 400
                        ending shouldBe Ending.EOF
                    }
                }
                good.assertProgress()
            }
        }

        test("misbehaving: a 16 KiB header gets 431, a 9 KiB request line 414, and the client reads the answer, not a reset") {
            goodClient().use { good ->
                val big = "GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(16 shl 10)}\r\n\r\n"
                val (r431, e431) = exchange(big.toByteArray())
                r431.status shouldBe 431
                e431 shouldBe Ending.EOF
                val long = "GET /${"a".repeat(9 shl 10)} HTTP/1.1\r\nHost: x\r\n\r\n"
                val (r414, e414) = exchange(long.toByteArray())
                r414.status shouldBe 414
                e414 shouldBe Ending.EOF
                good.assertProgress()
            }
        }

        test("misbehaving: Transfer-Encoding gets 501, HTTP/2.0 gets 505, an oversized Content-Length 413") {
            goodClient().use { good ->
                exchange("POST /plaintext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".toByteArray()).first.status shouldBe 501
                exchange("GET /plaintext HTTP/2.0\r\nHost: x\r\n\r\n".toByteArray()).first.status shouldBe 505
                exchange("POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n".toByteArray()).first.status shouldBe 413
                good.assertProgress()
            }
        }

        test("misbehaving: a truncated body gets no answer and the idle timeout closes the connection") {
            goodClient().use { good ->
                rawSocket(port, 8.seconds).use { s ->
                    val start = System.nanoTime()
                    s.getOutputStream().write("POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789".toByteArray())
                    val (bytes, ending) = readToEnd(s)
                    val waited = (System.nanoTime() - start) / 1_000_000
                    bytes.size shouldBe 0
                    ending shouldBe Ending.EOF
                    waited shouldBeGreaterThan 1_500L
                }
                good.assertProgress()
            }
        }

        test("misbehaving: a slowloris trickling four bytes a second is cut off after the idle timeout's length with 408") {
            goodClient().use { good ->
                val baseline = loop.connections()
                rawSocket(port, 10.seconds).use { s ->
                    val start = System.nanoTime()
                    val trickle = thread(isDaemon = true, name = "slowloris") {
                        val head = "GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Slow: ${"z".repeat(100)}"
                        try {
                            for (c in head) {
                                s.getOutputStream().write(c.code)
                                s.getOutputStream().flush()
                                Thread.sleep(250) // each byte well inside the 2 s idle timeout, even from a slowed thread
                            }
                        } catch (e: SocketException) {
                            // the server closed: expected
                        } catch (e: InterruptedException) {
                            // test over
                        }
                    }
                    val (bytes, ending) = readToEnd(s)
                    val waited = (System.nanoTime() - start) / 1_000_000
                    trickle.interrupt()
                    trickle.join(2000)
                    ending shouldBe Ending.EOF
                    readHttpResponse(bytes.inputStream()).status shouldBe 408
                    waited shouldBeGreaterThan 1_500L
                }
                // the server dropped its side too (within the linger bound)
                eventually(6.seconds, "the slowloris connection to be closed on the server") { loop.connections() <= baseline }
                good.assertProgress()
            }
        }
    }
})

private inline fun withClue(clue: String, block: () -> Unit) = io.kotest.assertions.withClue(clue.replace("\r", "\\r").replace("\n", "\\n")) { block() }
