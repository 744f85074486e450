package io.netpoll.buffer

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.property.Arb
import io.kotest.property.PropTestConfig
import io.kotest.property.arbitrary.arbitrary
import io.kotest.property.arbitrary.list
import io.kotest.property.checkAll
import io.netpoll.error.EofException
import io.netpoll.sys.NativeBuffer
import java.nio.ByteBuffer
import java.nio.charset.Charset
import kotlin.random.Random

/**
 * Random sequences of every Reader and Writer operation, run against a LinkBuffer and a trivial
 * byte-queue model ([BufferModel]); every byte returned is compared. Sizes in an [Op] are raw draws
 * that the harness maps onto the current state (a read of `raw` bytes becomes a read of at most
 * `len()`, or deliberately of more when `past` is set), so any sub-list of a failing sequence is a
 * valid sequence too and Kotest's list shrinking finds a short reproduction.
 */
class LinkBufferModelTest : FunSpec({
    for (layout in Layout.values()) {
        test("every operation agrees with a byte-queue model, ${layout.name.lowercase()} layout") {
            val (iterations, maxOps) = when (layout) {
                Layout.TINY_NODES -> 600 to 200
                Layout.MIXED_SIZES -> 150 to 80
                Layout.SPLIT_CHAIN -> 400 to 120
            }
            checkAll(PropTestConfig(iterations = iterations), Arb.list(opArb(layout), 1..maxOps)) { ops ->
                withPool { pool -> ModelHarness(pool).run(ops) }
            }
        }
    }
})

/** One step of a random sequence; sizes are raw draws (see the class comment of the spec). */
sealed class Op {
    // writer
    data class Malloc(val size: Int, val seed: Long) : Op()
    data class MallocAck(val raw: Int) : Op()
    data class WriteNumber(val width: Int, val value: Long) : Op()
    data class WriteBinary(val size: Int, val seed: Long, val offset: Int) : Op()
    data class WriteBuffer(val size: Int, val seed: Long, val direct: Boolean, val position: Int) : Op()
    data class WriteString(val length: Int, val seed: Long, val ascii: Boolean) : Op()
    data class WriteDirect(val size: Int, val seed: Long, val direct: Boolean) : Op()
    data class Append(val pieces: List<Int>, val seed: Long, val source: AppendSource) : Op()
    data class AppendOwnSlice(val raw: Int) : Op()
    data class Book(val size: Int, val maxIov: Int, val raw: Int, val seed: Long) : Op()
    object Flush : Op() { override fun toString() = "Flush" }
    object Seal : Op() { override fun toString() = "Seal" }

    // reader
    data class Next(val raw: Int, val past: Boolean, val keep: Boolean) : Op()
    data class Peek(val raw: Int, val past: Boolean, val keep: Boolean) : Op()
    data class Skip(val raw: Int, val past: Boolean) : Op()
    data class Until(val pick: Int) : Op()
    data class IndexOf(val pick: Int, val from: Int) : Op()
    data class PeekByte(val raw: Int) : Op()
    data class ReadString(val raw: Int, val past: Boolean, val charset: Int) : Op()
    data class ReadBinary(val raw: Int, val past: Boolean) : Op()
    data class ReadNumber(val width: Int) : Op()
    data class Slice(val raw: Int, val past: Boolean, val keep: Boolean) : Op()
    data class FillIov(val maxIov: Int, val maxBytes: Int, val written: Boolean) : Op()
    object Release : Op() { override fun toString() = "Release" }
}

/** How the buffer given to [Op.Append] was made. */
enum class AppendSource { FLUSHED, SEALED_PIECES, SLICE, CONSUMED_PREFIX, WITH_UNFLUSHED_TAIL }

private val CHARSETS = listOf(Charsets.UTF_8, Charsets.ISO_8859_1, Charsets.US_ASCII, Charsets.UTF_16BE)

private fun opArb(layout: Layout): Arb<Op> = arbitrary { rs -> randomOp(layout, rs.random) }

private fun randomOp(layout: Layout, r: Random): Op {
    fun size() = layout.size(r)
    val past = r.nextInt(12) == 0
    val appendWeight = if (layout == Layout.SPLIT_CHAIN) 12 else 3
    val weights = listOf(
        5, 3, 4, 5, 3, 4, 3, appendWeight, 2, 2, 6, if (layout == Layout.TINY_NODES) 5 else 2, // writer
        5, 4, 3, 2, 2, 2, 3, 3, 4, 3, 2, 5, // reader
    )
    var pick = r.nextInt(weights.sum())
    val kind = weights.indexOfFirst { w -> (pick - w).also { pick = it } < 0 }
    return when (kind) {
        0 -> Op.Malloc(size(), r.nextLong())
        1 -> Op.MallocAck(r.nextInt(0, 1 shl 20))
        2 -> listOf(1, 2, 4, 8).random(r).let { w -> Op.WriteNumber(w, r.nextLong()) }
        3 -> Op.WriteBinary(size(), r.nextLong(), r.nextInt(0, 9))
        4 -> Op.WriteBuffer(size(), r.nextLong(), r.nextBoolean(), r.nextInt(0, 5))
        5 -> Op.WriteString(minOf(size(), 9000), r.nextLong(), r.nextBoolean())
        6 -> Op.WriteDirect(if (r.nextBoolean()) r.nextInt(0, 4096) else r.nextInt(4096, 20_000), r.nextLong(), r.nextInt(5) != 0)
        7 -> Op.Append(List(r.nextInt(1, 6)) { size() }, r.nextLong(), AppendSource.values().random(r))
        8 -> Op.AppendOwnSlice(size())
        9 -> Op.Book(r.nextInt(1, 150_000), r.nextInt(1, 5), r.nextInt(0, Int.MAX_VALUE), r.nextLong())
        10 -> Op.Flush
        11 -> Op.Seal
        12 -> Op.Next(size(), past, r.nextInt(3) == 0)
        13 -> Op.Peek(size(), past, r.nextInt(3) == 0)
        14 -> Op.Skip(size(), past)
        15 -> Op.Until(r.nextInt(0, 256))
        16 -> Op.IndexOf(r.nextInt(0, 256), r.nextInt(0, 1 shl 20))
        17 -> Op.PeekByte(r.nextInt(0, 1 shl 20))
        18 -> Op.ReadString(size(), past, r.nextInt(CHARSETS.size))
        19 -> Op.ReadBinary(size(), past)
        20 -> Op.ReadNumber(listOf(1, 2, 4, 8).random(r))
        21 -> Op.Slice(size(), past, r.nextBoolean())
        22 -> Op.FillIov(r.nextInt(1, 6), r.nextInt(0, 200_000), r.nextBoolean())
        else -> Op.Release
    }
}

/** Non-ASCII text: ASCII mixed with 2-, 3- and 4-byte UTF-8 characters (surrogate pairs). */
private fun text(length: Int, seed: Long, ascii: Boolean): String {
    val r = java.util.SplittableRandom(seed)
    val sb = StringBuilder(length)
    while (sb.length < length) {
        when (if (ascii) 0 else r.nextInt(4)) {
            0 -> sb.append((0x20 + r.nextInt(0x5f)).toChar())
            1 -> sb.append('é')
            2 -> sb.append('€')
            else -> sb.append("\uD834\uDD1E") // U+1D11E, a surrogate pair
        }
    }
    return sb.toString()
}

/** Runs a sequence of [Op]s against a buffer and a model; one harness per sequence and pool. */
class ModelHarness(private val pool: BufferPool) {
    private val buf = LinkBuffer(pool)
    private val model = BufferModel()
    /** Views from next/peek with the bytes they must still hold at the next release. */
    private val held = ArrayList<Pair<ByteBuffer, ByteArray>>()
    /** Slices kept open: each must still hold its bytes when the sequence ends. */
    private val slices = ArrayList<Pair<LinkBuffer, ByteArray>>()
    /** True after seal() while no write has started a new node. */
    private var tailSealed = false
    private val iov = NativeBuffer(16 * 8)

    fun run(ops: List<Op>) {
        try {
            for (op in ops) {
                apply(op)
                buf.len() shouldBe model.size
                buf.mallocLen() shouldBe model.unflushed
            }
            drain()
        } finally {
            buf.close()
            slices.forEach { it.first.close() }
        }
    }

    /** n bytes for a read of raw bytes: at most len(), or past the end when asked. */
    private fun readSize(raw: Int, past: Boolean): Int =
        if (past) model.size + 1 + raw % 8 else if (raw <= model.size) raw else raw % (model.size + 1)

    private fun eof(block: () -> Unit) {
        shouldThrow<EofException> { block() }
    }

    private fun keep(view: ByteBuffer, expected: ByteArray) {
        if (held.size < 6) held += view to expected
    }

    private fun apply(op: Op) {
        if (op is Op.Malloc || op is Op.WriteNumber || op is Op.WriteBinary || op is Op.WriteBuffer ||
            op is Op.WriteString || op is Op.WriteDirect || op is Op.Append || op is Op.AppendOwnSlice
        ) {
            tailSealed = false
        }
        when (op) {
            is Op.Malloc -> {
                val data = seqBytes(op.seed, op.size)
                val v = buf.malloc(op.size)
                v.position() shouldBe 0
                v.limit() shouldBe op.size
                v.put(0, data)
                model.write(data)
            }
            is Op.MallocAck -> {
                val k = op.raw % (model.unflushed + 1)
                buf.mallocAck(k)
                model.truncateUnflushed(k)
            }
            is Op.WriteNumber -> {
                val bytes = ByteBuffer.allocate(8).putLong(op.value).array().copyOfRange(8 - op.width, 8)
                when (op.width) {
                    1 -> buf.writeByte(op.value.toByte())
                    2 -> buf.writeShort(op.value.toShort())
                    4 -> buf.writeInt(op.value.toInt())
                    else -> buf.writeLong(op.value)
                }
                model.write(bytes)
            }
            is Op.WriteBinary -> {
                val data = seqBytes(op.seed, op.size)
                if (op.offset == 0) {
                    buf.writeBinary(data)
                } else {
                    val padded = ByteArray(op.offset) + data + ByteArray(3)
                    buf.writeBinary(padded, op.offset, op.size)
                }
                model.write(data)
            }
            is Op.WriteBuffer -> {
                val data = seqBytes(op.seed, op.size)
                val src = if (op.direct) ByteBuffer.allocateDirect(op.position + op.size) else ByteBuffer.allocate(op.position + op.size)
                src.put(op.position, data).position(op.position)
                buf.writeBuffer(src)
                src.remaining() shouldBe 0
                model.write(data)
            }
            is Op.WriteString -> {
                val s = text(op.length, op.seed, op.ascii)
                buf.writeString(s)
                model.write(s.toByteArray(Charsets.UTF_8))
            }
            is Op.WriteDirect -> {
                val data = seqBytes(op.seed, op.size)
                val src = if (op.direct) directOf(data) else ByteBuffer.wrap(data.copyOf())
                buf.writeDirect(src)
                src.remaining() shouldBe 0
                model.write(data)
            }
            is Op.Append -> append(op)
            is Op.AppendOwnSlice -> {
                val n = readSize(op.raw, false)
                val slice = buf.slice(n)
                buf.append(slice)
                slice.len() shouldBe 0
                slice.close()
                model.write(model.take(n))
            }
            is Op.Book -> book(op)
            Op.Flush -> {
                buf.flush()
                model.flush()
            }
            Op.Seal -> {
                buf.seal()
                model.flush()
                tailSealed = true
            }
            is Op.Next -> {
                val n = readSize(op.raw, op.past)
                if (n > model.size) return eof { buf.next(n) }
                val v = buf.next(n)
                val want = model.take(n)
                v.shouldHold(want, "next($n)")
                if (op.keep) keep(v, want)
            }
            is Op.Peek -> {
                val n = readSize(op.raw, op.past)
                if (n > model.size) return eof { buf.peek(n) }
                val v = buf.peek(n)
                val want = model.peek(n)
                v.shouldHold(want, "peek($n)")
                if (op.keep) keep(v, want)
            }
            is Op.Skip -> {
                val n = readSize(op.raw, op.past)
                if (n > model.size) return eof { buf.skip(n) }
                buf.skip(n)
                model.take(n)
            }
            is Op.Until -> {
                val delim = if (model.size > 0 && op.pick < 200) model[op.pick % model.size] else op.pick.toByte()
                val i = model.indexOf(delim, 0)
                if (i < 0) return eof { buf.until(delim) }
                buf.until(delim).shouldHold(model.take(i + 1), "until($delim)")
            }
            is Op.IndexOf -> {
                val delim = if (model.size > 0 && op.pick < 200) model[op.pick % model.size] else op.pick.toByte()
                val from = op.from % (model.size + 2)
                buf.indexOf(delim, from) shouldBe model.indexOf(delim, from)
            }
            is Op.PeekByte -> {
                if (model.size == 0) return
                val i = op.raw % model.size
                buf.peekByte(i) shouldBe model[i]
            }
            is Op.ReadString -> {
                val n = readSize(op.raw, op.past)
                val cs: Charset = CHARSETS[op.charset]
                if (n > model.size) return eof { buf.readString(n, cs) }
                val got = if (op.charset == 0) buf.readString(n) else buf.readString(n, cs)
                got shouldBe String(model.take(n), cs)
            }
            is Op.ReadBinary -> {
                val n = readSize(op.raw, op.past)
                if (n > model.size) return eof { buf.readBinary(n) }
                buf.readBinary(n).shouldBeBytes(model.take(n), "readBinary($n)")
            }
            is Op.ReadNumber -> {
                if (op.width > model.size) {
                    return eof {
                        when (op.width) {
                            1 -> buf.readByte(); 2 -> buf.readShort(); 4 -> buf.readInt(); else -> buf.readLong()
                        }
                    }
                }
                val want = ByteBuffer.wrap(model.take(op.width))
                when (op.width) {
                    1 -> buf.readByte() shouldBe want.get()
                    2 -> buf.readShort() shouldBe want.getShort()
                    4 -> buf.readInt() shouldBe want.getInt()
                    else -> buf.readLong() shouldBe want.getLong()
                }
            }
            is Op.Slice -> {
                val n = readSize(op.raw, op.past)
                if (n > model.size) return eof { buf.slice(n) }
                val slice = buf.slice(n)
                val want = model.take(n)
                slice.len() shouldBe n
                if (op.keep && slices.size < 8) {
                    slices += slice to want
                } else {
                    slice.readBinary(n).shouldBeBytes(want, "slice($n)")
                    slice.release()
                    slice.close()
                }
            }
            is Op.FillIov -> fillIov(op)
            Op.Release -> {
                held.forEach { (v, want) -> v.shouldHold(want, "view kept until release") }
                held.clear()
                buf.release()
                if (model.size == 0 && model.unflushed == 0 && tailSealed && slices.isEmpty()) {
                    // memory contract: empty, last node sealed, released -> no memory held
                    pool.bytesInUse() shouldBe 0L
                }
            }
        }
    }

    private fun append(op: Op.Append) {
        val data = op.pieces.mapIndexed { i, n -> seqBytes(op.seed + i, n) }
        val other = LinkBuffer(pool)
        var source: LinkBuffer? = null
        var unflushedTail = ByteArray(0)
        when (op.source) {
            AppendSource.FLUSHED -> data.forEach { other.writeBinary(it); other.flush() }
            AppendSource.SEALED_PIECES -> data.forEach { other.writeBinary(it); other.seal() }
            AppendSource.SLICE -> {
                source = LinkBuffer(pool).also { s -> data.forEach { s.writeBinary(it); s.seal() } }
                source.writeInt(7)
                source.flush()
                val slice = source.slice(data.sumOf { it.size })
                other.append(slice)
                slice.close()
                other.flush()
            }
            AppendSource.CONSUMED_PREFIX -> {
                other.writeBinary(ByteArray(37) { 9 })
                data.forEach { other.writeBinary(it); other.flush() }
                other.skip(37)
                other.release()
            }
            AppendSource.WITH_UNFLUSHED_TAIL -> {
                data.forEach { other.writeBinary(it); other.flush() }
                unflushedTail = seqBytes(op.seed - 1, 11)
                other.writeBinary(unflushedTail)
            }
        }
        buf.append(other)
        other.len() shouldBe 0
        data.forEach { model.write(it) }
        if (unflushedTail.isNotEmpty()) {
            other.flush()
            other.readBinary(unflushedTail.size).shouldBeBytes(unflushedTail, "bytes left in the appended buffer")
        }
        other.close()
        source?.let { s ->
            s.readInt() shouldBe 7
            s.release()
            s.close()
        }
    }

    /** book + a simulated readv (bytes written straight into the booked memory) + bookAck. */
    private fun book(op: Op.Book) {
        val count = buf.book(op.size, iov.buffer(), op.maxIov)
        (count in 1..op.maxIov) shouldBe true
        var capacity = 0L
        for (i in 0 until count) capacity += iov.getLong(i * 16 + 8)
        val n = (op.raw % (minOf(capacity, op.size.toLong()) + 1)).toInt()
        val data = seqBytes(op.seed, n)
        var done = 0
        for (i in 0 until count) {
            val k = minOf(iov.getLong(i * 16 + 8).toInt(), n - done)
            if (k <= 0) break
            writeNative(iov.getLong(i * 16), data, done, k)
            done += k
        }
        buf.bookAck(n)
        if (n > 0) {
            model.write(data)
            model.flush() // bookAck publishes and seals
            tailSealed = true
        }
    }

    /** fillIov must describe exactly the first iovBytes() readable bytes; optionally "write" them. */
    private fun fillIov(op: Op.FillIov) {
        val count = buf.fillIov(iov.buffer(), op.maxIov, op.maxBytes.toLong())
        val total = buf.iovBytes()
        (count <= op.maxIov) shouldBe true
        (total <= minOf(model.size, op.maxBytes).toLong()) shouldBe true
        if (count < op.maxIov) total shouldBe minOf(model.size, op.maxBytes).toLong()
        val out = java.io.ByteArrayOutputStream()
        for (i in 0 until count) {
            val len = iov.getLong(i * 16 + 8).toInt()
            (len > 0) shouldBe true
            out.write(readNative(iov.getLong(i * 16), len))
        }
        out.toByteArray().shouldBeBytes(model.peek(total.toInt()), "iovecs")
        if (op.written) {
            buf.skip(total.toInt())
            model.take(total.toInt())
        }
    }

    private fun drain() {
        held.forEach { (v, want) -> v.shouldHold(want, "view kept until release") }
        held.clear()
        buf.flush()
        model.flush()
        buf.readBinary(model.size).shouldBeBytes(model.take(model.size), "drained bytes")
        buf.release()
        for ((slice, want) in slices) {
            slice.readBinary(slice.len()).shouldBeBytes(want, "kept slice")
            slice.release()
        }
    }
}
