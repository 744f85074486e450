@file:OptIn(io.kotest.common.ExperimentalKotest::class)

package io.netpoll.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.property.Arb
import io.kotest.property.PropTestConfig
import io.kotest.property.arbitrary.bind
import io.kotest.property.arbitrary.boolean
import io.kotest.property.arbitrary.byteArray
import io.kotest.property.arbitrary.byte
import io.kotest.property.arbitrary.element
import io.kotest.property.arbitrary.int
import io.kotest.property.arbitrary.list
import io.kotest.property.arbitrary.string
import io.kotest.property.checkAll
import io.kotest.property.arbitrary.Codepoint
import io.kotest.property.arbitrary.az
import io.netpoll.buffer.LinkBuffer
import io.netpoll.examples.http.HttpParser
import io.netpoll.examples.support.Bounded
import io.netpoll.examples.support.Step
import io.netpoll.examples.support.feed
import io.netpoll.examples.support.fuzzInput
import io.netpoll.examples.support.pieceSizes
import kotlin.time.Duration.Companion.seconds

/** [HttpParser] apart from sockets, over a plain LinkBuffer. */
class HttpParserTest : FunSpec({
    data class Parsed(val method: String, val target: String, val keepAlive: Boolean, val contentLength: Long)

    fun parseAll(input: String, maxHead: Int = HttpParser.DEFAULT_MAX_HEAD): Pair<List<Parsed>, HttpParser> {
        val p = HttpParser(maxHead, 1000)
        val got = ArrayList<Parsed>()
        LinkBuffer().use { buf ->
            buf.writeBinary(input.toByteArray(Charsets.ISO_8859_1))
            buf.flush()
            while (p.parse(buf) == HttpParser.REQUEST) got += Parsed(p.method(), p.target(), p.keepAlive(), p.contentLength())
        }
        return got to p
    }

    test("requests with every error get the documented status") {
        val cases = mapOf(
            "BAD\r\n\r\n" to 400,
            "GET /\r\n\r\n" to 400,
            "GET / HTTP/1.1 x\r\nHost: h\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\nHost: h\r\nA : b\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\nHost: h\r\n\tfold\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\nHost: h\r\nA: \u0000\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n" to 400,
            "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" to 501,
            "GET / HTTP/3.0\r\nHost: h\r\n\r\n" to 505,
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n" to 413,
            "GET /${"a".repeat(300)} HTTP/1.1\r\n" to 414,
            "GET / HTTP/1.1\r\nHost: h\r\nA: ${"a".repeat(300)}\r\n\r\n" to 431,
            "GET / HTTP/1.1\r\nHost: h\r\n" + "A: b\r\n".repeat(101) + "\r\n" to 431,
        )
        for ((input, status) in cases) {
            val (_, p) = parseAll(input, maxHead = if (status == 414 || status == 431) 256 else 8192)
            io.kotest.assertions.withClue(input.take(60)) { p.errorStatus() shouldBe status }
        }
    }

    test("HTTP/1.0 closes unless it asks for keep-alive; HTTP/1.1 keeps alive unless it asks to close") {
        parseAll("GET / HTTP/1.0\r\n\r\n").first.single().keepAlive shouldBe false
        parseAll("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").first.single().keepAlive shouldBe true
        parseAll("GET / HTTP/1.1\r\nHost: h\r\n\r\n").first.single().keepAlive shouldBe true
        parseAll("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, CLOSE\r\n\r\n").first.single().keepAlive shouldBe false
    }

    test("arbitrary bytes in arbitrary pieces: no exception escapes, no hang, never more than the head limit buffered") {
        val fragments = listOf(
            "GET", "HEAD", "POST", " ", "  ", "/plaintext", "/", "?a=b", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.",
            "\r\n", "\n", "\r", "\r\n\r\n", "Host: x", "Host", ":", ": ", "Content-Length: ", "content-length:", "0", "5",
            "12", "-1", "99999999999999999999", "Connection: close", "Connection: keep-alive", "Transfer-Encoding: chunked",
            "\t", "a", "\u0000", "\u007f", "\u00e9", "x".repeat(200),
        )
        val maxHead = 256
        checkAll(PropTestConfig(iterations = 1500, seed = 4242), fuzzInput(fragments), pieceSizes) { bytes, sizes ->
            Bounded.run(15.seconds) {
                val p = HttpParser(maxHead, 64)
                feed(bytes, sizes) { buf ->
                    when (p.parse(buf)) {
                        HttpParser.REQUEST -> Step.AGAIN
                        HttpParser.NEED_MORE -> {
                            buf.len() shouldBeLessThanOrEqual maxHead
                            Step.MORE
                        }
                        else -> {
                            (p.errorStatus() in setOf(400, 413, 414, 431, 501, 505)) shouldBe true
                            p.parse(buf) shouldBe HttpParser.ERROR // sticky
                            Step.STOP
                        }
                    }
                }
            }
        }
    }

    test("valid pipelined requests split at arbitrary points parse to the same requests") {
        val token = Arb.string(1..12, Codepoint.az())
        val request = Arb.bind(
            Arb.element("GET", "HEAD", "POST", "PUT", "DELETE", "X-Custom_1"),
            Arb.string(0..24, Codepoint.az()),
            Arb.boolean(),
            Arb.list(Arb.bind(token, Arb.string(0..20, Codepoint.az())) { n, v -> "X-$n" to v }, 0..6),
            Arb.byteArray(Arb.int(0..200), Arb.byte()),
            Arb.element("", "close", "keep-alive"),
            Arb.boolean(),
        ) { method, path, http11, headers, body, connection, lf ->
            val eol = if (lf) "\n" else "\r\n"
            val sb = StringBuilder("$method /$path ${if (http11) "HTTP/1.1" else "HTTP/1.0"}$eol")
            if (http11) sb.append("Host: example$eol")
            for ((n, v) in headers) sb.append("$n: $v$eol")
            if (connection.isNotEmpty()) sb.append("Connection: $connection$eol")
            if (body.isNotEmpty()) sb.append("Content-Length: ${body.size}$eol")
            sb.append(eol)
            val keepAlive = connection != "close" && (http11 || connection == "keep-alive")
            (sb.toString().toByteArray(Charsets.ISO_8859_1) + body) to Parsed(method, "/$path", keepAlive, body.size.toLong())
        }
        checkAll(PropTestConfig(iterations = 500, seed = 7), Arb.list(request, 1..8), pieceSizes) { reqs, sizes ->
            Bounded.run(15.seconds) {
                val bytes = reqs.map { it.first }.reduce { a, b -> a + b }
                val got = ArrayList<Parsed>()
                val p = HttpParser()
                feed(bytes, sizes) { buf ->
                    when (p.parse(buf)) {
                        HttpParser.REQUEST -> {
                            got += Parsed(p.method(), p.target(), p.keepAlive(), p.contentLength())
                            Step.AGAIN
                        }
                        HttpParser.NEED_MORE -> Step.MORE
                        else -> throw AssertionError("error ${p.errorStatus()} ${p.errorReason()} on a valid request")
                    }
                }
                got shouldContainExactly reqs.map { it.second }
                p.inProgress() shouldBe false
            }
        }
    }
})
