package io.netpoll.buffer

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.error.EofException
import io.netpoll.sys.NativeBuffer
import java.nio.ByteBuffer
import kotlin.random.Random

/**
 * Misuse gets a typed error and leaves the buffer as it was: reading past len() is EofException with
 * nothing consumed, negative sizes and over-large acks are IllegalArgumentException, and every call
 * on a closed buffer is IllegalStateException. None of them leaks pool memory.
 */
class LinkBufferMisuseTest : FunSpec({
    /** Every reading call, asking for more than [n] bytes when [n] are readable. */
    fun pastTheEnd(n: Int): List<Pair<String, (LinkBuffer) -> Any?>> {
        val calls = mutableListOf<Pair<String, (LinkBuffer) -> Any?>>(
            "next" to { b -> b.next(n + 1) },
            "peek" to { b -> b.peek(n + 1) },
            "skip" to { b -> b.skip(n + 1) },
            "readString" to { b -> b.readString(n + 1) },
            "readString(charset)" to { b -> b.readString(n + 1, Charsets.ISO_8859_1) },
            "readBinary" to { b -> b.readBinary(n + 1) },
            "slice" to { b -> b.slice(n + 1) },
            "next(MAX)" to { b -> b.next(Int.MAX_VALUE) },
        )
        if (n < 1) calls += "readByte" to { b -> b.readByte() }
        if (n < 2) calls += "readShort" to { b -> b.readShort() }
        if (n < 4) calls += "readInt" to { b -> b.readInt() }
        if (n < 8) calls += "readLong" to { b -> b.readLong() }
        return calls
    }

    for (layout in Layout.values()) {
        test("reading past len() is EOF and consumes nothing, ${layout.name.lowercase()} layout") {
            withPool { pool ->
                for (n in listOf(0, 1, 3, 7, 5000)) {
                    val data = ByteArray(n) { (seqBytes(n.toLong(), n)[it].toInt() and 0x7f).toByte() } // no 0x80: until() finds none
                    val b = layout.build(pool, data, Random(n))
                    // a partly consumed first node, so "nothing consumed" is checked mid-chain too
                    if (n > 1) b.readByte() shouldBe data[0]
                    val left = if (n > 1) data.copyOfRange(1, n) else data
                    for ((name, call) in pastTheEnd(left.size)) {
                        withClue("$name with ${left.size} readable") {
                            shouldThrow<EofException> { call(b) }
                            b.len() shouldBe left.size
                        }
                    }
                    shouldThrow<EofException> { b.until(0x80.toByte()) }
                    b.len() shouldBe left.size
                    b.readBinary(left.size).shouldBeBytes(left)
                    b.release()
                    b.close()
                }
            }
        }
    }

    test("zero-byte reads of a buffer that never held a node return empty results") {
        withPool { pool ->
            for (released in listOf(false, true)) {
                val b = LinkBuffer(pool)
                if (released) {
                    b.writeInt(1); b.seal(); b.readInt(); b.release() // the node is gone again
                }
                b.next(0).limit() shouldBe 0
                b.peek(0).limit() shouldBe 0
                b.skip(0)
                b.readString(0) shouldBe ""
                b.readString(0, Charsets.ISO_8859_1) shouldBe ""
                b.readBinary(0).size shouldBe 0
                b.slice(0).use { it.len() shouldBe 0 }
                b.indexOf(1, 0) shouldBe -1
                b.fillIov(NativeBuffer(16).buffer(), 1, 100) shouldBe 0
                b.release()
                b.close()
            }
        }
    }

    test("negative sizes are IllegalArgumentException everywhere and change nothing") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            b.writeBinary(ByteArray(10) { it.toByte() })
            b.flush()
            b.writeInt(5)
            val iov = NativeBuffer(64).buffer()
            val calls: List<Pair<String, () -> Any?>> = listOf(
                "next" to { b.next(-1) },
                "peek" to { b.peek(-1) },
                "skip" to { b.skip(-1) },
                "readString" to { b.readString(-1) },
                "readString(charset)" to { b.readString(-1, Charsets.UTF_8) },
                "readBinary" to { b.readBinary(-1) },
                "slice" to { b.slice(-1) },
                "indexOf" to { b.indexOf(1, -1) },
                "malloc" to { b.malloc(-1) },
                "mallocAck" to { b.mallocAck(-1) },
                "writeBinary" to { b.writeBinary(ByteArray(4), 0, -1) },
                "book(size)" to { b.book(-1, iov, 2) },
                "book(maxIov)" to { b.book(100, iov, -1) },
                "bookAck" to { b.bookAck(-1) },
                "fillIov(maxIov)" to { b.fillIov(iov, -1, 100) },
                "fillIov(maxBytes)" to { b.fillIov(iov, 2, -1) },
                "next(MIN)" to { b.next(Int.MIN_VALUE) },
            )
            for ((name, call) in calls) {
                withClue(name) {
                    shouldThrow<IllegalArgumentException> { call() }
                    b.len() shouldBe 10
                    b.mallocLen() shouldBe 4
                }
            }
            // an offset is not a size: out of range either way is IndexOutOfBoundsException
            shouldThrow<IndexOutOfBoundsException> { b.peekByte(-1) }
            shouldThrow<IndexOutOfBoundsException> { b.peekByte(10) }
            shouldThrow<IndexOutOfBoundsException> { b.writeBinary(ByteArray(4), -1, 2) }
            shouldThrow<IndexOutOfBoundsException> { b.writeBinary(ByteArray(4), 3, 2) }
            b.flush()
            b.readBinary(10).shouldBeBytes(ByteArray(10) { it.toByte() })
            b.readInt() shouldBe 5
            b.close()
        }
    }

    test("mallocAck of more than was reserved is IllegalArgumentException and keeps every byte") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            b.malloc(6).put(0, byteArrayOf(1, 2, 3, 4, 5, 6))
            b.writeDirect(directOf(ByteArray(5000) { 7 }))
            shouldThrow<IllegalArgumentException> { b.mallocAck(5007) }
            shouldThrow<IllegalArgumentException> { b.mallocAck(Int.MAX_VALUE) }
            b.mallocLen() shouldBe 5006
            b.mallocAck(5006)
            b.flush()
            b.readBinary(6).shouldBeBytes(byteArrayOf(1, 2, 3, 4, 5, 6))
            b.readBinary(5000).all { it == 7.toByte() } shouldBe true
            b.close()
        }
    }

    test("acking more bytes than were booked is IllegalArgumentException and the booking stays") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val iov = NativeBuffer(16 * 4)
            val count = b.book(100, iov.buffer(), 4)
            val booked = (0 until count).sumOf { iov.getLong(it * 16 + 8) }
            shouldThrow<IllegalArgumentException> { b.bookAck((booked + 1).toInt()) }
            b.len() shouldBe 0
            writeNative(iov.getLong(0), byteArrayOf(9, 8, 7), 0, 3)
            b.bookAck(3)
            b.readBinary(3).shouldBeBytes(byteArrayOf(9, 8, 7))
            b.release()
            b.close()
        }
    }

    test("booking twice without an ack is IllegalStateException and leaks nothing") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val iov = NativeBuffer(16 * 4).buffer()
            b.book(5000, iov, 4)
            shouldThrow<IllegalStateException> { b.book(5000, iov, 4) }
            b.bookAck(0)
            b.book(10, iov, 1) shouldBe 1
            b.close() // frees the booking
        }
    }

    test("an iovec array too small for book is a typed error and leaks nothing") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            shouldThrow<IllegalArgumentException> { b.book(3 * BufferPool.MAX_CHUNK, NativeBuffer(16).buffer(), 4) }
            b.bookAck(0)
            b.writeInt(1)
            b.flush()
            shouldThrow<IllegalArgumentException> { b.fillIov(NativeBuffer(8).buffer(), 1, 100) }
            b.readInt() shouldBe 1
            b.close()
        }
    }

    test("appending a buffer to itself or a closed buffer is a typed error") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            b.writeInt(1)
            b.flush()
            shouldThrow<IllegalArgumentException> { b.append(b) }
            val closed = LinkBuffer(pool).also { it.close() }
            shouldThrow<IllegalStateException> { b.append(closed) }
            b.readInt() shouldBe 1
            b.close()
        }
    }

    test("every public call after close is IllegalStateException; close is idempotent") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            b.writeBinary(ByteArray(9000))
            b.flush()
            b.writeInt(1)
            b.next(5000) // a view, a spanning view (scratch) and unflushed bytes are all held at close
            b.peek(3000)
            b.close()
            b.isClosed() shouldBe true
            pool.bytesInUse() shouldBe 0L
            val other = LinkBuffer(pool)
            val iov = NativeBuffer(64).buffer()
            val calls: List<Pair<String, () -> Any?>> = listOf(
                "next" to { b.next(1) }, "peek" to { b.peek(1) }, "skip" to { b.skip(1) },
                "until" to { b.until(0) }, "indexOf" to { b.indexOf(0, 0) }, "peekByte" to { b.peekByte(0) },
                "readString" to { b.readString(1) }, "readString(charset)" to { b.readString(1, Charsets.UTF_8) },
                "readBinary" to { b.readBinary(1) }, "readByte" to { b.readByte() }, "readShort" to { b.readShort() },
                "readInt" to { b.readInt() }, "readLong" to { b.readLong() }, "slice" to { b.slice(1) },
                "release" to { b.release() }, "len" to { b.len() },
                "malloc" to { b.malloc(1) }, "mallocLen" to { b.mallocLen() }, "mallocAck" to { b.mallocAck(0) },
                "writeByte" to { b.writeByte(1) }, "writeShort" to { b.writeShort(1) }, "writeInt" to { b.writeInt(1) },
                "writeLong" to { b.writeLong(1) }, "writeBinary" to { b.writeBinary(ByteArray(1)) },
                "writeBinary(off,len)" to { b.writeBinary(ByteArray(1), 0, 1) },
                "writeBuffer" to { b.writeBuffer(ByteBuffer.allocate(1)) },
                "writeString" to { b.writeString("x") }, "writeDirect" to { b.writeDirect(ByteBuffer.allocateDirect(8192)) },
                "append" to { b.append(other) }, "flush" to { b.flush() }, "seal" to { b.seal() },
                "book" to { b.book(1, iov, 1) }, "bookAck" to { b.bookAck(0) },
                "fillIov" to { b.fillIov(iov, 1, 1) }, "iovBytes" to { b.iovBytes() },
            )
            for ((name, call) in calls) {
                withClue(name) { shouldThrow<IllegalStateException> { call() } }
            }
            b.close()
            other.close()
        }
    }

    test("a chunk released twice throws IllegalStateException, also when the first release put it in a shared stack") {
        val pool = BufferPool(1L shl 20)
        val c = pool.allocate(8192) // a test thread has no poller cache: the chunk goes back to a shared stack
        c.release()
        shouldThrow<IllegalStateException> { c.release() } // before: pooled twice, later handed to two buffers
        val a = pool.allocate(8192)
        val b = pool.allocate(8192)
        (a === b) shouldBe false
        a.release()
        b.release()
        pool.bytesInUse() shouldBe 0L
    }

    test("a flush that would make more than Int.MAX_VALUE bytes readable throws IllegalStateException and publishes nothing") {
        withPool { pool ->
            val block = ByteBuffer.allocateDirect(64 shl 20) // referenced 33 times: 2.06 GiB written
            val b = LinkBuffer(pool)
            repeat(33) { b.writeDirect(block.duplicate()) }
            shouldThrow<IllegalStateException> { b.flush() } // before: the count wrapped, len() went negative
            b.len() shouldBe 0
            b.close()
        }
    }

    test("book() and fillIov() refuse an iovec array that is on the heap, in the wrong byte order or too short to its limit, with IllegalArgumentException and nothing booked") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val short = NativeBuffer(64).buffer().limit(16) // room for one iovec to its limit, four to its capacity
            for (iov in listOf(ByteBuffer.allocate(64), ByteBuffer.allocateDirect(64), short)) {
                shouldThrow<IllegalArgumentException> { b.book(3 * BufferPool.MAX_CHUNK, iov, 4) }
                shouldThrow<IllegalArgumentException> { b.fillIov(iov, 4, 100) }
            }
            val iov = NativeBuffer(64).buffer()
            val count = b.book(100, iov, 4) // before: the short one had booked a chunk, so this threw IllegalStateException
            b.bookAck(0)
            count shouldBe 1
            b.close()
        }
    }
})
