@file:OptIn(io.kotest.common.ExperimentalKotest::class)

package io.netpoll.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeLessThan
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldStartWith
import io.kotest.property.Arb
import io.kotest.property.PropTestConfig
import io.kotest.property.arbitrary.Codepoint
import io.kotest.property.arbitrary.alphanumeric
import io.kotest.property.arbitrary.bind
import io.kotest.property.arbitrary.boolean
import io.kotest.property.arbitrary.byte
import io.kotest.property.arbitrary.byteArray
import io.kotest.property.arbitrary.int
import io.kotest.property.arbitrary.list
import io.kotest.property.arbitrary.string
import io.kotest.property.checkAll
import io.netpoll.buffer.LinkBuffer
import io.netpoll.examples.resp.RespLimits
import io.netpoll.examples.resp.RespParser
import io.netpoll.examples.support.Bounded
import io.netpoll.examples.support.Step
import io.netpoll.examples.support.feed
import io.netpoll.examples.support.fuzzInput
import io.netpoll.examples.support.pieceSizes
import kotlin.time.Duration.Companion.seconds

/** [RespParser] apart from sockets, over a plain LinkBuffer. */
class RespParserTest : FunSpec({
    fun args(p: RespParser): List<String> = (0 until p.argc).map { i ->
        val b = p.args[i]!!
        val a = ByteArray(b.remaining())
        b.get(b.position(), a)
        String(a, Charsets.ISO_8859_1)
    }

    /** Every command in [input] (whole), then the final result. */
    fun parseAll(input: String, limits: RespLimits = RespLimits()): Pair<List<List<String>>, RespParser> {
        val p = RespParser(limits)
        val got = ArrayList<List<String>>()
        LinkBuffer().use { buf ->
            buf.writeBinary(input.toByteArray(Charsets.ISO_8859_1))
            buf.flush()
            while (true) {
                when (p.parse(buf)) {
                    RespParser.COMMAND -> got += args(p)
                    RespParser.EMPTY -> {}
                    else -> break
                }
            }
        }
        return got to p
    }

    test("inline commands split like redis's sdssplitargs") {
        parseAll("PING\r\nSET k \"a b\"\nECHO 'it\\'s'  \"\\x41\\n\"\r\n\r\n").first shouldContainExactly listOf(
            listOf("PING"), listOf("SET", "k", "a b"), listOf("ECHO", "it's", "A\n"),
        )
        parseAll("ECHO \"unbalanced\r\n").second.error shouldBe "Protocol error: unbalanced quotes in request"
        parseAll("ECHO \"a\"b\r\n").second.error shouldBe "Protocol error: unbalanced quotes in request"
    }

    test("multibulk framing errors are protocol errors with Redis's wording") {
        val cases = mapOf(
            "*x\r\n" to "Protocol error: invalid multibulk length",
            "*1a\r\n" to "Protocol error: invalid multibulk length",
            "*-2\r\n" to "Protocol error: invalid multibulk length",
            "*99999999999\r\n" to "Protocol error: invalid multibulk length",
            "*1\r\nPING\r\n" to "Protocol error: expected '$', got 'P'",
            "*1\r\n$-1\r\n" to "Protocol error: invalid bulk length",
            "*1\r\n\$x\r\n" to "Protocol error: invalid bulk length",
            "*1\r\n$04\r\nPING\r\n" to "Protocol error: invalid bulk length",
            "*1\r\n$999999999\r\n" to "Protocol error: invalid bulk length",
            "*1\r\n$3\r\nPING\r\n" to "Protocol error: expected CRLF after bulk data",
            "*1\r\n$5\r\nPING\r\n\r\n" to "Protocol error: expected CRLF after bulk data",
            "*1\rx" to "Protocol error: expected CRLF after the mbulk count",
        )
        for ((input, error) in cases) {
            val (_, p) = parseAll(input)
            io.kotest.assertions.withClue(input) { p.error shouldBe error }
        }
        parseAll("*0\r\n*-1\r\nPING\r\n").first shouldContainExactly listOf(listOf("PING"))
    }

    test("arbitrary bytes in arbitrary pieces: no exception escapes, no hang, buffering stays within the limits") {
        val fragments = listOf(
            "*", "$", "\r\n", "\r", "\n", "0", "1", "2", "3", "4", "-1", "-2", "10", "99999999999", "x", "PING", "SET", "k",
            " ", "\"", "'", "\\", "\\x4", "\\x41", "\u0000", "\u00ff", "*1\r\n$4\r\nPING\r\n", "*2\r\n", "$3\r\n", "abc",
            "a".repeat(100),
        )
        val limits = RespLimits(maxInline = 128, maxArgs = 16, maxBulk = 64, maxCommand = 512)
        checkAll(PropTestConfig(iterations = 1500, seed = 99), fuzzInput(fragments), pieceSizes) { bytes, sizes ->
            Bounded.run(15.seconds) {
                val p = RespParser(limits)
                feed(bytes, sizes) { buf ->
                    when (p.parse(buf)) {
                        RespParser.COMMAND -> {
                            p.argc shouldBeLessThanOrEqual limits.maxArgs
                            args(p) // the views are readable
                            Step.AGAIN
                        }
                        RespParser.EMPTY -> Step.AGAIN
                        RespParser.NEED_MORE -> {
                            buf.len() shouldBeLessThan p.need
                            p.need shouldBeLessThanOrEqual limits.maxCommand + 1
                            Step.MORE
                        }
                        else -> {
                            p.error!! shouldStartWith "Protocol error: "
                            p.parse(buf) shouldBe RespParser.ERROR
                            Step.STOP
                        }
                    }
                }
            }
        }
    }

    test("valid pipelined commands, multibulk and inline, split at arbitrary points parse to the same arguments") {
        val binaryArgs = Arb.list(Arb.byteArray(Arb.int(0..40), Arb.byte()), 1..6)
        val wordArgs = Arb.list(Arb.string(1..10, Codepoint.alphanumeric()), 1..6)
        val command = Arb.bind(Arb.boolean(), binaryArgs, wordArgs) { inline, bin, words ->
            if (inline) {
                (words.joinToString(" ") + "\r\n").toByteArray(Charsets.ISO_8859_1) to words
            } else {
                val sb = java.io.ByteArrayOutputStream()
                sb.write("*${bin.size}\r\n".toByteArray())
                for (a in bin) {
                    sb.write("$${a.size}\r\n".toByteArray())
                    sb.write(a)
                    sb.write("\r\n".toByteArray())
                }
                sb.toByteArray() to bin.map { String(it, Charsets.ISO_8859_1) }
            }
        }
        checkAll(PropTestConfig(iterations = 500, seed = 3), Arb.list(command, 1..10), pieceSizes) { cmds, sizes ->
            Bounded.run(15.seconds) {
                val bytes = cmds.map { it.first }.reduce { a, b -> a + b }
                val got = ArrayList<List<String>>()
                val p = RespParser()
                feed(bytes, sizes) { buf ->
                    when (p.parse(buf)) {
                        RespParser.COMMAND -> {
                            got += args(p)
                            Step.AGAIN
                        }
                        RespParser.EMPTY -> Step.AGAIN
                        RespParser.NEED_MORE -> Step.MORE
                        else -> throw AssertionError("${p.error} on valid input")
                    }
                }
                got shouldContainExactly cmds.map { it.second }
            }
        }
    }
})
