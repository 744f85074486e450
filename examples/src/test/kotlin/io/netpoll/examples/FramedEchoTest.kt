@file:OptIn(io.kotest.common.ExperimentalKotest::class)

package io.netpoll.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.property.Arb
import io.kotest.property.PropTestConfig
import io.kotest.property.arbitrary.byte
import io.kotest.property.arbitrary.byteArray
import io.kotest.property.arbitrary.int
import io.kotest.property.arbitrary.list
import io.kotest.property.checkAll
import io.netpoll.EventLoop
import io.netpoll.Listener
import io.netpoll.examples.support.Bounded
import io.netpoll.examples.support.Ending
import io.netpoll.examples.support.GoodClient
import io.netpoll.examples.support.Step
import io.netpoll.examples.support.eventually
import io.netpoll.examples.support.feed
import io.netpoll.examples.support.fuzzInput
import io.netpoll.examples.support.pieceSizes
import io.netpoll.examples.support.rawSocket
import io.netpoll.examples.support.readToEnd
import java.net.InetSocketAddress
import java.nio.ByteBuffer
import java.util.concurrent.CopyOnWriteArrayList
import java.util.logging.Handler
import java.util.logging.LogRecord
import java.util.logging.Logger
import kotlin.concurrent.thread
import kotlin.random.Random
import kotlin.time.Duration.Companion.seconds

/** The framed echo example ([FramedEcho], Java callback API): 4-byte big-endian length + payload. */
class FramedEchoTest : FunSpec({
    val maxFrame = 8 shl 20
    val loop: EventLoop = FramedEcho.server(maxFrame)
    val listener = Listener.create("tcp", "127.0.0.1:0")
    val port = (listener.address() as InetSocketAddress).port
    val serving = thread(isDaemon = true, name = "framed-serve") { loop.serve(listener) }
    afterSpec {
        loop.shutdown(java.time.Duration.ofSeconds(2))
        serving.join(5000)
    }

    fun frame(payload: ByteArray): ByteArray = ByteBuffer.allocate(4 + payload.size).putInt(payload.size).put(payload).array()

    fun goodClient(): GoodClient {
        val f = frame("hello".toByteArray())
        return GoodClient(port, f) { input -> input.readNBytes(f.size).contentEquals(f) }
    }

    test("pipelined frames of many sizes come back byte for byte") {
        val rnd = Random(1)
        val frames = listOf(0, 1, 3, 100, 5000, 70_000, 1 shl 20).map { frame(rnd.nextBytes(it)) }
        val all = frames.reduce { a, b -> a + b }
        rawSocket(port, 10.seconds).use { s ->
            val writer = thread(isDaemon = true) { s.getOutputStream().write(all) }
            s.getInputStream().readNBytes(all.size).contentEquals(all) shouldBe true
            writer.join(10_000)
        }
    }

    test("a frame larger than the default 4 MiB input cap is echoed too") {
        val payload = Random(2).nextBytes(6 shl 20)
        rawSocket(port, 10.seconds).use { s ->
            val writer = thread(isDaemon = true) { s.getOutputStream().write(frame(payload)) }
            val back = s.getInputStream().readNBytes(4 + payload.size)
            writer.join(10_000)
            ByteBuffer.wrap(back).int shouldBe payload.size
            back.copyOfRange(4, back.size).contentEquals(payload) shouldBe true
        }
    }

    test("a length over the limit, or negative, closes that connection with a logged reason; others keep echoing") {
        val records = CopyOnWriteArrayList<String>()
        val handler = object : Handler() {
            override fun publish(r: LogRecord) {
                records += r.message
            }
            override fun flush() {}
            override fun close() {}
        }
        val log = Logger.getLogger("io.netpoll.examples")
        log.addHandler(handler)
        try {
            goodClient().use { good ->
                for (length in listOf(maxFrame + 1, Int.MAX_VALUE, -1)) {
                    rawSocket(port).use { s ->
                        s.getOutputStream().write(frame("ok".toByteArray()) + ByteBuffer.allocate(4).putInt(length).array() + "junk".toByteArray())
                        val (bytes, ending) = readToEnd(s)
                        bytes.contentEquals(frame("ok".toByteArray())) shouldBe true // frames before the bad one are echoed
                        ending shouldBe Ending.EOF
                    }
                    eventually(5.seconds, "a log record for length $length") {
                        records.any { it.contains("frame length $length outside 0..$maxFrame") }
                    }
                }
                good.assertProgress()
            }
            records.first { it.contains("frame length") } shouldContain "closing /127.0.0.1:"
        } finally {
            log.removeHandler(handler)
        }
    }

    test("frameSize on arbitrary bytes in arbitrary pieces: no exception, no hang, never more than one frame buffered to decide") {
        val limit = 100
        checkAll(PropTestConfig(iterations = 1000, seed = 5), fuzzInput(listOf("\u0000\u0000\u0000", "\u0000", "\u0064", "\u0065", "\u00ff", "abc")), pieceSizes) { bytes, sizes ->
            Bounded.run(15.seconds) {
                feed(bytes, sizes) { buf ->
                    when (val n = FramedEcho.frameSize(buf, limit)) {
                        FramedEcho.NEED_MORE -> {
                            buf.len() shouldBeLessThan 4 + limit
                            Step.MORE
                        }
                        FramedEcho.BAD_LENGTH -> Step.STOP
                        else -> {
                            buf.skip(n)
                            Step.AGAIN
                        }
                    }
                }
            }
        }
    }

    test("valid frames split at arbitrary points come out as the same frames") {
        checkAll(PropTestConfig(iterations = 300, seed = 6), Arb.list(Arb.byteArray(Arb.int(0..300), Arb.byte()), 1..10), pieceSizes) { payloads, sizes ->
            Bounded.run(15.seconds) {
                val got = ArrayList<List<Byte>>()
                feed(payloads.map { frame(it) }.reduce { a, b -> a + b }, sizes) { buf ->
                    when (val n = FramedEcho.frameSize(buf, 300)) {
                        FramedEcho.NEED_MORE -> Step.MORE
                        FramedEcho.BAD_LENGTH -> throw AssertionError("valid frame refused")
                        else -> {
                            buf.skip(4)
                            got += buf.readBinary(n - 4).toList()
                            Step.AGAIN
                        }
                    }
                }
                got shouldContainExactly payloads.map { it.toList() }
            }
        }
    }
})
