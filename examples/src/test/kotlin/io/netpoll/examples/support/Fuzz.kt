package io.netpoll.examples.support

import io.kotest.property.Arb
import io.kotest.property.arbitrary.byte
import io.kotest.property.arbitrary.byteArray
import io.kotest.property.arbitrary.choice
import io.kotest.property.arbitrary.element
import io.kotest.property.arbitrary.int
import io.kotest.property.arbitrary.list
import io.kotest.property.arbitrary.map
import io.netpoll.buffer.LinkBuffer
import java.util.concurrent.Callable
import java.util.concurrent.ExecutionException
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException
import kotlin.time.Duration

/** Runs one fuzz case on a helper thread so that a hang fails the case (instead of the build). */
object Bounded {
    private val pool = Executors.newCachedThreadPool { r -> Thread(r, "fuzz-case").apply { isDaemon = true } }

    fun <T> run(timeout: Duration, block: () -> T): T {
        val f = pool.submit(Callable(block))
        try {
            return f.get(timeout.inWholeMilliseconds, TimeUnit.MILLISECONDS)
        } catch (e: TimeoutException) {
            f.cancel(true)
            throw AssertionError("fuzz case did not finish within $timeout: the parser hangs")
        } catch (e: ExecutionException) {
            throw e.cause ?: e
        }
    }
}

/** Inputs for parser fuzzing: raw bytes, or [fragments] of the protocol glued together at random. */
fun fuzzInput(fragments: List<String>, maxBytes: Int = 2000, maxFragments: Int = 80): Arb<ByteArray> = Arb.choice(
    Arb.byteArray(Arb.int(0..maxBytes), Arb.byte()),
    Arb.list(Arb.element(fragments), 0..maxFragments).map { it.joinToString("").toByteArray(Charsets.ISO_8859_1) },
)

/** Piece sizes in which input reaches a parser (cycled). */
val pieceSizes: Arb<List<Int>> = Arb.list(Arb.int(1..64), 1..40)

/**
 * Feeds [bytes] to [step] through a LinkBuffer in pieces of [sizes] (cycled). After each piece, [step]
 * is called until it returns false (it should return true after consuming a request, false when it
 * needs more or stopped); a step loop that exceeds the input size is a parser that does not progress.
 * [step] gets the buffer; returns whether parsing stopped for good (an error).
 */
fun feed(bytes: ByteArray, sizes: List<Int>, step: (LinkBuffer) -> Step) {
    LinkBuffer().use { buf ->
        var off = 0
        var i = 0
        while (off < bytes.size) {
            val n = minOf(sizes[i++ % sizes.size], bytes.size - off)
            buf.writeBinary(bytes, off, n)
            buf.flush()
            off += n
            var steps = 0
            while (true) {
                if (++steps > bytes.size + 2) throw AssertionError("parser does not progress (more steps than input bytes)")
                when (step(buf)) {
                    Step.AGAIN -> continue
                    Step.MORE -> break
                    Step.STOP -> return
                }
            }
            buf.release()
        }
    }
}

enum class Step { AGAIN, MORE, STOP }
