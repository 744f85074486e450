package io.netpoll.buffer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.sys.NativeBuffer
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicReference
import kotlin.random.Random

/**
 * One writer thread and one reader thread on the same buffer at once, as a connection uses it. The
 * content is a known sequence (byte i is [seq] of i, always below 0x80, so a poisoned 0xDE byte can
 * never pass for data); the reader verifies every byte it gets, by every reading call, and the test
 * ends with the memory contract: everything consumed, the last node sealed, release() -> the pool
 * has every byte back before close().
 *
 * The "handshake" profile seals after nearly every write and has the reader call release() whenever
 * it runs dry, so the two threads meet at the last node (sealed flag, tombstone CAS, new chain)
 * hundreds of thousands of times.
 */
class LinkBufferConcurrencyTest : FunSpec({
    for (profile in Profile.values()) {
        test("a writer and a reader thread share a buffer without losing or corrupting a byte, ${profile.name.lowercase()} profile") {
            repeat(profile.rounds) { round ->
                withPool { pool -> Race(pool, profile, seed = round * 7919L + profile.ordinal).run() }
            }
        }
    }

    test("a dry reader's release never frees a node the writer is flushing and sealing") {
        // The tightest loop around the last-node handshake, in ping-pong: the writer adds one byte
        // as its own node (link, flush, seal) only when the reader has drained everything, and the
        // dry reader calls release() meanwhile, so every release overlaps a write. Compiled, a race
        // inside release() is a few instructions wide: spinning threads oversubscribe the cores so
        // the OS preempts the reader at arbitrary instructions while the writer runs on.
        withPool { pool ->
            val buf = LinkBuffer(pool)
            val failure = AtomicReference<Throwable>()
            val running = java.util.concurrent.atomic.AtomicBoolean(true)
            val spinners = List(Runtime.getRuntime().availableProcessors()) {
                Thread { var x = 0L; while (running.get()) x += System.nanoTime() and 1 }.apply { isDaemon = true; start() }
            }
            val deadline = System.nanoTime() + 4_000_000_000L
            val written = java.util.concurrent.atomic.AtomicLong(-1)
            val writer = Thread {
                var i = 0L
                try {
                    while (System.nanoTime() < deadline && failure.get() == null) {
                        while (buf.len() > 0 && failure.get() == null) Thread.onSpinWait()
                        buf.writeByte(seq(i++))
                        buf.seal()
                    }
                } catch (t: Throwable) {
                    failure.compareAndSet(null, t)
                }
                written.set(i)
            }
            writer.start()
            var pos = 0L
            try {
                while (failure.get() == null && pos != written.get()) {
                    if (buf.len() == 0) {
                        buf.release()
                        continue
                    }
                    val b = buf.readByte()
                    if (b != seq(pos)) throw AssertionError("byte $pos is $b, want ${seq(pos)}")
                    pos++
                }
            } catch (t: Throwable) {
                failure.compareAndSet(null, t)
            }
            writer.join(60_000)
            running.set(false)
            spinners.forEach { it.join() }
            failure.get()?.let { buf.close(); throw it }
            buf.release()
            pool.bytesInUse() shouldBe 0L
            buf.close()
        }
    }
})

/** 7-bit, position-dependent: a lost, repeated or reordered byte shows up. */
fun seq(i: Long): Byte = (((i + 1) * -0x61c8864680b583ebL) ushr 57).toByte()

fun seqRange(from: Long, n: Int): ByteArray = ByteArray(n) { seq(from + it) }

enum class Profile(val writerOps: Int, val maxWrite: Int, val maxRead: Int, val sealOneIn: Int, val rounds: Int) {
    /** Tiny writes, sealed nearly every time; the reader releases whenever it runs dry. */
    HANDSHAKE(writerOps = 120_000, maxWrite = 16, maxRead = 24, sealOneIn = 2, rounds = 3),
    /** Every write and read call, sizes up to 70 KB (unpooled mallocs, writeDirect, appends). */
    MIXED(writerOps = 12_000, maxWrite = 70_000, maxRead = 90_000, sealOneIn = 8, rounds = 2),
}

private class Race(private val pool: BufferPool, private val profile: Profile, private val seed: Long) {
    private val buf = LinkBuffer(pool)
    @Volatile private var writtenTotal = -1L
    @Volatile private var stop = false
    private val failure = AtomicReference<Throwable>()

    fun run() {
        val writer = Thread({ guard { write() } }, "buffer-writer")
        val reader = Thread({ guard { read() } }, "buffer-reader")
        writer.start()
        reader.start()
        writer.join(120_000)
        reader.join(120_000)
        if (writer.isAlive || reader.isAlive) {
            stop = true
            writer.join(5_000)
            reader.join(5_000)
            failure.compareAndSet(null, AssertionError("timed out: reader or writer stuck ($buf)"))
        }
        failure.get()?.let { buf.close(); throw it }
        // both threads joined: this thread may act as the reader. The writer sealed after its last
        // byte, so releasing the consumed buffer must leave no memory at all.
        buf.len() shouldBe 0
        buf.release()
        pool.bytesInUse() shouldBe 0L
        buf.close()
    }

    private fun guard(block: () -> Unit) {
        try {
            block()
        } catch (t: Throwable) {
            failure.compareAndSet(null, t)
            stop = true
        }
    }

    private fun write() {
        val r = Random(seed)
        val iov = NativeBuffer(16 * 4)
        var pos = 0L
        fun bytes(n: Int) = seqRange(pos, n).also { pos += n }
        repeat(profile.writerOps) {
            while (buf.len() > 4 shl 20 && !stop) Thread.onSpinWait() // keep memory bounded
            if (stop) return
            val n = r.nextInt(1, profile.maxWrite + 1)
            when (r.nextInt(if (profile == Profile.HANDSHAKE) 6 else 11)) {
                0 -> buf.writeByte(bytes(1)[0])
                1 -> buf.writeInt(ByteBuffer.wrap(bytes(4)).int)
                2 -> buf.writeBinary(bytes(n))
                3 -> buf.writeString(String(bytes(n), Charsets.US_ASCII))
                4 -> {
                    val v = buf.malloc(n)
                    val keep = if (r.nextBoolean()) n else r.nextInt(0, n + 1)
                    v.put(0, ByteArray(n) { 0x7f }) // what mallocAck drops must never be read
                    v.put(0, seqRange(pos, keep))
                    buf.mallocAck(buf.mallocLen() - (n - keep))
                    pos += keep
                }
                5 -> buf.writeShort(ByteBuffer.wrap(bytes(2)).short)
                6 -> buf.writeLong(ByteBuffer.wrap(bytes(8)).long)
                7 -> buf.writeDirect(directOf(bytes(maxOf(n, 4096))))
                8 -> buf.writeBuffer(if (r.nextBoolean()) directOf(bytes(n)) else ByteBuffer.wrap(bytes(n)))
                9 -> {
                    // data that arrives in another buffer and is moved over by slices
                    val other = LinkBuffer(pool)
                    other.writeBinary(bytes(n))
                    other.seal()
                    val s = other.slice(r.nextInt(0, n + 1))
                    buf.append(s)
                    buf.append(other)
                    s.close()
                    other.close()
                }
                else -> {
                    // a simulated readv into booked memory; bookAck publishes and seals
                    val count = buf.book(n, iov.buffer(), 4)
                    var left = n
                    for (i in 0 until count) {
                        val k = minOf(left, iov.getLong(i * 16 + 8).toInt())
                        writeNative(iov.getLong(i * 16), seqRange(pos + (n - left), k), 0, k)
                        left -= k
                    }
                    val got = n - left
                    pos += got
                    buf.bookAck(got)
                }
            }
            when {
                r.nextInt(profile.sealOneIn) == 0 -> buf.seal()
                r.nextInt(3) != 0 -> buf.flush()
            }
        }
        buf.seal()
        writtenTotal = pos
    }

    private fun read() {
        val r = Random(seed + 1)
        val iov = NativeBuffer(16 * 8)
        val held = ArrayList<Pair<ByteBuffer, Long>>()
        var pos = 0L
        var idle = 0
        fun check(got: ByteArray, at: Long, what: String) {
            for (i in got.indices) {
                if (got[i] != seq(at + i)) {
                    throw AssertionError("$what: byte ${at + i} is ${got[i]}, want ${seq(at + i)} (buffer $buf)")
                }
            }
        }
        fun releaseChecked() {
            for ((v, at) in held) check(v.contents(), at, "view kept until release")
            held.clear()
            buf.release()
        }
        while (!stop) {
            val l = buf.len()
            if (l == 0) {
                if (writtenTotal == pos) break
                // a dry reader releases: this is where it meets the writer at the last node
                if (profile == Profile.HANDSHAKE || ++idle % 64 == 0) releaseChecked()
                Thread.onSpinWait()
                continue
            }
            val n = r.nextInt(1, minOf(l, profile.maxRead) + 1)
            when (r.nextInt(11)) {
                0 -> { val v = buf.next(n); check(v.contents(), pos, "next"); if (held.size < 4) held += v to pos; pos += n }
                1 -> { val v = buf.peek(n); check(v.contents(), pos, "peek"); if (held.size < 4) held += v to pos }
                2 -> { check(buf.readBinary(n), pos, "readBinary"); pos += n }
                3 -> { check(byteArrayOf(buf.readByte()), pos, "readByte"); pos += 1 }
                4 -> if (l >= 14) {
                    val b = ByteBuffer.allocate(14).putLong(buf.readLong()).putInt(buf.readInt()).putShort(buf.readShort())
                    check(b.array(), pos, "readLong/Int/Short"); pos += 14
                }
                5 -> { buf.skip(n); pos += n }
                6 -> {
                    val s = buf.slice(n)
                    if (r.nextBoolean()) releaseChecked() // the slice keeps its shares
                    check(s.readBinary(n), pos, "slice")
                    s.close()
                    pos += n
                }
                7 -> { val k = r.nextInt(0, l); check(byteArrayOf(buf.peekByte(k)), pos + k, "peekByte") }
                8 -> {
                    val k = r.nextInt(0, n)
                    val delim = seq(pos + k)
                    val want = (0..k).first { seq(pos + it) == delim }
                    buf.indexOf(delim, 0) shouldBe want
                    if (r.nextBoolean()) {
                        check(buf.until(delim).contents(), pos, "until")
                        pos += want + 1
                    }
                }
                9 -> {
                    val count = buf.fillIov(iov.buffer(), 8, n.toLong())
                    var at = pos
                    for (i in 0 until count) {
                        val len = iov.getLong(i * 16 + 8).toInt()
                        check(readNative(iov.getLong(i * 16), len), at, "iovec")
                        at += len
                    }
                    (at - pos) shouldBe buf.iovBytes()
                    buf.skip((at - pos).toInt()) // as after a complete writev
                    pos = at
                }
                else -> { check(buf.readString(n, Charsets.ISO_8859_1).toByteArray(Charsets.ISO_8859_1), pos, "readString"); pos += n }
            }
            if (r.nextInt(3) == 0) releaseChecked()
        }
        if (!stop) releaseChecked()
    }
}
