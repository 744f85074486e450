package io.netpoll.buffer

import com.sun.jna.Pointer
import io.kotest.matchers.shouldBe
import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.random.Random

// Shared helpers for the LinkBuffer specs: deterministic content, a trivial byte-queue model, the
// buffer layouts every behaviour runs against, and the pool check that ends every test.

/** [n] pseudo-random bytes, the same for the same [seed]. */
fun seqBytes(seed: Long, n: Int): ByteArray {
    val out = ByteArray(n)
    java.util.SplittableRandom(seed).let { r -> for (i in 0 until n) out[i] = r.nextInt(256).toByte() }
    return out
}

/** The [limit] bytes of a view, read by absolute index (does not move its position). */
fun ByteBuffer.contents(): ByteArray = ByteArray(limit()).also { get(0, it) }

/** Asserts the documented shape of a view (position 0, limit n, big-endian) and its bytes. */
fun ByteBuffer.shouldHold(expected: ByteArray, what: String = "view") {
    position() shouldBe 0
    limit() shouldBe expected.size
    order() shouldBe ByteOrder.BIG_ENDIAN
    val got = contents()
    if (!got.contentEquals(expected)) {
        val i = got.indices.first { got[it] != expected[it] }
        throw AssertionError("$what of ${expected.size} bytes differs first at $i: got ${got[i]}, want ${expected[i]}")
    }
}

fun ByteArray.shouldBeBytes(expected: ByteArray, what: String = "bytes") {
    size shouldBe expected.size
    if (!contentEquals(expected)) {
        val i = indices.first { this[it] != expected[it] }
        throw AssertionError("$what of ${expected.size} differ first at $i: got ${this[i]}, want ${expected[i]}")
    }
}

/** Native memory the kernel would read (iovecs from fillIov), copied out through JNA. */
fun readNative(address: Long, length: Int): ByteArray = Pointer(address).getByteArray(0, length)

fun writeNative(address: Long, bytes: ByteArray, off: Int, length: Int) = Pointer(address).write(0, bytes, off, length)

fun directOf(bytes: ByteArray): ByteBuffer = ByteBuffer.allocateDirect(bytes.size).put(bytes).flip()

/**
 * A fresh pool for one test (never the default pool: tests share no global state). After [block]
 * the test must have closed every buffer it made; the pool must then have every byte back.
 */
inline fun <T> withPool(maxPooledBytes: Long = 16L shl 20, block: (BufferPool) -> T): T {
    val pool = BufferPool(maxPooledBytes)
    pool.bytesInUse() shouldBe 0L
    val result = block(pool)
    pool.bytesInUse() shouldBe 0L
    return result
}

/**
 * Ends a test of one buffer whose bytes were all consumed: seals it so release() frees the last
 * node too, checks that the pool then has every byte back, and closes it.
 */
fun LinkBuffer.shouldFreeEverything(pool: BufferPool) {
    seal()
    release()
    pool.bytesInUse() shouldBe 0L
    close()
}

/** Published bytes (a queue with a read index) plus the writer's unflushed bytes. */
class BufferModel {
    private var buf = ByteArray(1024)
    private var head = 0
    private var tail = 0
    private var pending = ByteArray(1024)
    private var pendingLen = 0

    val size: Int get() = tail - head
    val unflushed: Int get() = pendingLen

    operator fun get(i: Int): Byte = buf[head + i]

    fun write(bytes: ByteArray) {
        if (pendingLen + bytes.size > pending.size) {
            pending = pending.copyOf(maxOf(pending.size * 2, pendingLen + bytes.size))
        }
        bytes.copyInto(pending, pendingLen)
        pendingLen += bytes.size
    }

    /** mallocAck: keep the first [n] unflushed bytes. */
    fun truncateUnflushed(n: Int) {
        require(n in 0..pendingLen)
        pendingLen = n
    }

    fun flush() {
        publish(pending, pendingLen)
        pendingLen = 0
    }

    /** Bytes that bypass the writer's queue (appended straight to the published end by the test). */
    fun publish(bytes: ByteArray, n: Int = bytes.size) {
        if (tail + n > buf.size) {
            val live = size
            val next = if (live + n > buf.size / 2) ByteArray(maxOf(buf.size * 2, live + n)) else buf
            buf.copyInto(next, 0, head, tail)
            buf = next
            head = 0
            tail = live
        }
        bytes.copyInto(buf, tail, 0, n)
        tail += n
    }

    fun peek(n: Int): ByteArray = buf.copyOfRange(head, head + n)

    fun take(n: Int): ByteArray = peek(n).also { head += n }

    fun indexOf(b: Byte, from: Int): Int {
        for (i in maxOf(from, 0) until size) if (this[i] == b) return i
        return -1
    }
}

/**
 * How the same content is laid out in a buffer's node chain (Okio runs its tests against a
 * small-segment buffer, a randomly split one, ...). [build] makes a buffer whose readable bytes are
 * exactly the given ones; [size] is the write/read size distribution the property tests draw from.
 */
enum class Layout {
    /** One node per few bytes: every piece is sealed, so the next write starts a new chunk. */
    TINY_NODES {
        override fun size(r: Random) = r.nextInt(0, 17)
        override fun build(pool: BufferPool, bytes: ByteArray, r: Random): LinkBuffer {
            val b = LinkBuffer(pool)
            var at = 0
            while (at < bytes.size) {
                val k = minOf(r.nextInt(1, 8), bytes.size - at)
                b.writeBinary(bytes, at, k)
                if (r.nextInt(3) == 0) b.flush() else b.seal()
                at += k
            }
            b.flush()
            return b
        }
    },

    /** Small, medium, > 64 KiB and > 1 MiB pieces: writeBinary, malloc (unpooled above 1 MiB), writeDirect. */
    MIXED_SIZES {
        override fun size(r: Random) = when (r.nextInt(10)) {
            in 0..2 -> r.nextInt(0, 17)
            in 3..6 -> r.nextInt(17, 5000)
            in 7..8 -> r.nextInt(5000, 66_000)
            else -> if (r.nextInt(8) == 0) r.nextInt(BufferPool.MAX_CHUNK + 1, BufferPool.MAX_CHUNK + 4096) else r.nextInt(66_000, 140_000)
        }

        override fun build(pool: BufferPool, bytes: ByteArray, r: Random): LinkBuffer {
            val b = LinkBuffer(pool)
            var at = 0
            while (at < bytes.size) {
                val k = minOf(size(r), bytes.size - at)
                when (r.nextInt(3)) {
                    0 -> b.writeBinary(bytes, at, k)
                    1 -> b.malloc(k).put(0, bytes, at, k)
                    else -> b.writeDirect(ByteBuffer.allocateDirect(k).put(0, bytes, at, k))
                }
                if (r.nextBoolean()) b.flush()
                at += k
            }
            b.flush()
            return b
        }
    },

    /** The data arrives in several appends of slices cut from other buffers. */
    SPLIT_CHAIN {
        override fun size(r: Random) = r.nextInt(1, 3000)
        override fun build(pool: BufferPool, bytes: ByteArray, r: Random): LinkBuffer {
            val prefix = r.nextInt(0, 100)
            val source = LinkBuffer(pool)
            source.writeBinary(ByteArray(prefix))
            source.writeBinary(bytes)
            source.flush()
            source.skip(prefix)
            val b = LinkBuffer(pool)
            while (source.len() > 0) {
                val slice = source.slice(minOf(size(r), source.len()))
                b.append(slice)
                slice.close()
                if (r.nextBoolean()) b.flush()
            }
            source.release()
            source.close()
            b.flush()
            return b
        }
    };

    abstract fun size(r: Random): Int

    abstract fun build(pool: BufferPool, bytes: ByteArray, r: Random): LinkBuffer
}
