package io.netpoll.coroutines

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.booleans.shouldBeTrue
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.netpoll.coroutines.CoTestKit.awaitTrue
import io.netpoll.coroutines.CoTestKit.coTest
import io.netpoll.coroutines.CoTestKit.launchNow
import io.netpoll.coroutines.CoTestKit.withConn
import io.netpoll.error.LimitExceededException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import java.util.concurrent.atomic.AtomicReference
import kotlin.random.Random

/** readLine: `\n` and `\r\n` endings, lines split across reads, the length limit, the last line at EOF. */
class CoReadLineTest : FunSpec({
    timeout = 60_000L

    test("readLine ends lines at \\n and at \\r\\n, keeps a lone \\r inside a line, and returns empty lines") {
        coTest {
            withConn { c ->
                c.send("a\r\nb\nc\r\n\n\r\nx\ry\n")
                listOf("a", "b", "c", "", "", "x\ry").forEach { c.conn.readLine() shouldBe it }
                c.conn.connection.inputLen() shouldBe 0
            }
        }
    }

    test("a line split across reads, with the \\r of its \\r\\n at the end of one read, is returned once it is complete") {
        coTest {
            withConn { c ->
                val got = AtomicReference<String?>()
                val job = launchNow { got.set(c.conn.readLine()) }
                var sent = 0
                for (part in listOf("hel", "lo", "\r")) {
                    c.send(part)
                    sent += part.length
                    c.awaitBuffered(sent)
                    job.isActive.shouldBeTrue() // no end yet
                }
                c.send("\nnext\n")
                job.join()
                got.get() shouldBe "hello"
                c.conn.readLine() shouldBe "next"
            }
        }
    }

    test("a negative maxLength is IllegalArgumentException and consumes nothing") {
        coTest {
            withConn { c ->
                c.send("abc\n")
                c.awaitBuffered(4)
                shouldThrow<IllegalArgumentException> { c.conn.readLine(maxLength = -1) }
                c.conn.readLine() shouldBe "abc"
            }
        }
    }

    test("readLine decodes UTF-8, also when a character is split across reads") {
        coTest {
            withConn { c ->
                val bytes = "héllo wörld ✓\n".toByteArray(Charsets.UTF_8)
                val cut = bytes.indexOf(0xE2.toByte()) + 1 // inside the three bytes of ✓
                val job = launchNow { c.conn.readLine() shouldBe "héllo wörld ✓" }
                c.send(bytes.copyOfRange(0, cut))
                c.awaitBuffered(cut)
                job.isActive.shouldBeTrue()
                c.send(bytes.copyOfRange(cut, bytes.size))
                job.join()
            }
        }
    }

    test("a line of exactly maxLength bytes is read; one byte longer throws LimitExceededException and consumes nothing") {
        coTest {
            withConn { c ->
                c.send("12345\n12345\r\n123456\n")
                c.awaitBuffered(20)
                c.conn.readLine(maxLength = 5) shouldBe "12345"
                c.conn.readLine(maxLength = 5) shouldBe "12345" // the \r\n is not part of the length
                shouldThrow<LimitExceededException> { c.conn.readLine(maxLength = 5) }
                c.conn.connection.inputLen() shouldBe 7 // nothing consumed
                c.conn.readLine(maxLength = 6) shouldBe "123456"
            }
        }
    }

    test("the limit counts bytes, not characters") {
        coTest {
            withConn { c ->
                c.send("ééé\n") // 6 bytes
                c.awaitBuffered(7)
                shouldThrow<LimitExceededException> { c.conn.readLine(maxLength = 5) }
                c.conn.readLine(maxLength = 6) shouldBe "ééé"
            }
        }
    }

    test("a line already longer than maxLength throws LimitExceededException before its end arrives, without waiting, consuming nothing") {
        coTest {
            withConn { c ->
                c.send("1234567")
                c.awaitBuffered(7)
                val outcome = AtomicReference<Throwable?>()
                val job = launchNow {
                    try {
                        c.conn.readLine(maxLength = 5)
                    } catch (e: Throwable) {
                        outcome.set(e)
                    }
                }
                job.isCompleted.shouldBeTrue() // did not wait for a '\n' that cannot make it fit
                outcome.get().shouldBeInstanceOf<LimitExceededException>()
                c.conn.connection.inputLen() shouldBe 7
                c.send("89\n")
                c.conn.readLine() shouldBe "123456789"
            }
        }
    }

    test("a suspended readLine throws LimitExceededException when arriving bytes make the line too long, consuming nothing") {
        coTest {
            withConn { c ->
                c.send("123")
                c.awaitBuffered(3)
                val outcome = AtomicReference<Throwable?>()
                val job = launchNow {
                    try {
                        c.conn.readLine(maxLength = 5)
                    } catch (e: Throwable) {
                        outcome.set(e)
                    }
                }
                job.isActive.shouldBeTrue()
                c.send("456")
                job.join()
                outcome.get().shouldBeInstanceOf<LimitExceededException>()
                c.conn.connection.inputLen() shouldBe 6
                c.send("\n")
                c.conn.readLine() shouldBe "123456"
            }
        }
    }

    test("a line of maxLength bytes whose \\r arrived without its \\n yet waits for the \\n instead of failing") {
        coTest {
            withConn { c ->
                c.send("12345\r")
                c.awaitBuffered(6)
                val outcome = AtomicReference<Any?>()
                val job = launchNow { outcome.set(runCatching { c.conn.readLine(maxLength = 5) }) }
                job.isActive.shouldBeTrue() // the \r may be the start of the line's end
                c.send("\n")
                job.join()
                outcome.get() shouldBe Result.success("12345")
            }
        }
    }

    test("at EOF readLine returns a partial last line, then null") {
        coTest {
            withConn { c ->
                c.send("first\nlast without end")
                c.peer.shutdownOutput()
                awaitTrue("the FIN was read") { c.conn.connection.inputEof() }
                c.conn.readLine() shouldBe "first"
                c.conn.readLine() shouldBe "last without end"
                c.conn.readLine().shouldBeNull()
                c.conn.readLine().shouldBeNull()
            }
        }
    }

    test("a readLine suspended for the end of a line returns the partial line when the peer finishes") {
        coTest {
            withConn { c ->
                val got = AtomicReference<Any?>("unset")
                val job = launchNow { got.set(c.conn.readLine()) }
                c.send("partial")
                c.awaitBuffered(7)
                job.isActive.shouldBeTrue()
                c.peer.shutdownOutput()
                job.join()
                got.get() shouldBe "partial"
                c.conn.readLine().shouldBeNull()
            }
        }
    }

    test("60,000 lines with mixed endings, cut into random pieces and read while more arrive, are all read exactly") {
        coTest {
            withConn { c ->
                val rnd = Random(7)
                val lines = List(60_000) { i -> "line $i " + "x".repeat(rnd.nextInt(0, 40)) }
                val endings = List(lines.size) { if (rnd.nextBoolean()) "\n" else "\r\n" }
                val stream = buildString { lines.indices.forEach { append(lines[it]).append(endings[it]) } }.toByteArray()
                val writer = launch(Dispatchers.IO) {
                    var at = 0
                    val wr = Random(8)
                    while (at < stream.size) {
                        val n = minOf(stream.size - at, wr.nextInt(1, 700))
                        c.peer.getOutputStream().write(stream, at, n)
                        at += n
                        if (wr.nextInt(16) == 0) Thread.sleep(1)
                    }
                    c.peer.shutdownOutput()
                }
                for (expected in lines) c.conn.readLine(maxLength = 200) shouldBe expected
                c.conn.readLine().shouldBeNull()
                writer.join()
            }
        }
    }

    test("the end of a line that arrives while readLine scans a long buffered start is found, not skipped") {
        // the scan of 3 MiB already buffered takes milliseconds; the peer's "\n" lands meanwhile. The
        // scan must go on from where it really looked, not from len() taken after it (which counts
        // the new '\n' as searched: the line would run into the next one)
        coTest {
            withConn { c ->
                val start = 3 shl 20
                for (round in 0 until 8) {
                    val head = ('a' + round).toString().repeat(start)
                    c.send(head)
                    c.awaitBuffered(start)
                    val line = async(Dispatchers.Default) { c.conn.readLine(maxLength = 4 shl 20) }
                    val pause = round * 250_000 // ns: land the end at different points of the scan
                    Thread.sleep(pause / 1_000_000L, pause % 1_000_000)
                    c.send("\nnext $round\n")
                    val got = kotlinx.coroutines.withTimeout(CoTestKit.WAIT_MS) { line.await() } // skipped: waits forever
                    got?.length shouldBe start
                    (got == head).shouldBeTrue()
                    c.conn.readLine() shouldBe "next $round"
                }
            }
        }
    }

    test("lines of up to 200 KB, spanning many buffer chunks and reads, are split exactly at their ends") {
        coTest {
            withConn { c ->
                val rnd = Random(11)
                val lines = List(60) { i -> "long line $i " + ('a' + i % 26).toString().repeat(rnd.nextInt(10_000, 200_000)) }
                val stream = buildString { lines.forEach { append(it).append('\n') } }.toByteArray()
                val writer = launch(Dispatchers.IO) {
                    var at = 0
                    val wr = Random(12)
                    while (at < stream.size) {
                        val n = minOf(stream.size - at, wr.nextInt(1, 64 shl 10))
                        c.peer.getOutputStream().write(stream, at, n)
                        at += n
                    }
                    c.peer.shutdownOutput()
                }
                for (expected in lines) {
                    val got = c.conn.readLine(maxLength = 1 shl 20)
                    got?.length shouldBe expected.length
                    got shouldBe expected
                }
                c.conn.readLine().shouldBeNull()
                writer.join()
            }
        }
    }
})
