package io.netpoll.buffer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.netpoll.sys.NativeBuffer
import java.nio.ByteBuffer
import kotlin.random.Random

/**
 * The views contract (views from next/peek hold their bytes until the next release, spanning views
 * live in scratch memory that release frees) and the memory contract (an empty, sealed buffer holds
 * nothing after release; close frees everything), checked through the pool's exact accounting and
 * the documented poisoning of freed chunks.
 */
class LinkBufferViewsTest : FunSpec({
    // the documented switch (surefire sets it); without it freed memory keeps its old bytes
    val poisoned = java.lang.Boolean.getBoolean("netpoll.buffer.poison")

    for (layout in Layout.values()) {
        val name = layout.name.lowercase()

        test("views keep their bytes until release while the writer keeps writing, $name layout") {
            withPool { pool ->
                val r = Random(11)
                val data = seqBytes(11, 40_000)
                val b = layout.build(pool, data, r)
                val views = ArrayList<Pair<ByteBuffer, ByteArray>>()
                var at = 0
                for (n in listOf(1, 7, 300, 4000, 9000, 64, 2)) {
                    val peeked = b.peek(n)
                    peeked.shouldHold(data.copyOfRange(at, at + n), "peek($n)")
                    views += peeked to data.copyOfRange(at, at + n)
                    val next = b.next(n)
                    next.shouldHold(data.copyOfRange(at, at + n), "next($n)")
                    views += next to data.copyOfRange(at, at + n)
                    at += n
                }
                // the writer fills the tail node the views may point into, publishes and seals
                repeat(50) { i ->
                    b.writeBinary(seqBytes(100L + i, r.nextInt(1, 3000)))
                    if (i % 3 == 0) b.flush() else if (i % 7 == 0) b.seal()
                }
                b.flush()
                b.skip(data.size - at) // consumed, not yet released: still valid
                views.forEach { (v, want) -> v.shouldHold(want, "view before release") }
                b.release()
                b.close()
            }
        }

        test("an empty buffer whose last node is sealed holds no memory after release, $name layout") {
            withPool { pool ->
                val data = seqBytes(12, 70_000)
                val b = layout.build(pool, data, Random(12))
                b.seal()
                b.next(5000)
                b.peek(20_000)
                b.readBinary(data.size - 5000).shouldBeBytes(data.copyOfRange(5000, data.size))
                b.release()
                pool.bytesInUse() shouldBe 0L
                // and it is still usable: the writer starts a new chain
                b.writeString("again")
                b.flush()
                b.readString(5) shouldBe "again"
                b.close()
            }
        }
    }

    test("a consumed last node that is not sealed stays for the writer's next bytes") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            b.writeInt(1)
            b.flush()
            b.readInt() shouldBe 1
            b.release()
            val held = pool.bytesInUse()
            held shouldBeGreaterThan 0L
            b.writeInt(2)
            b.flush()
            pool.bytesInUse() shouldBe held // written into the same node
            b.readInt() shouldBe 2
            b.seal()
            b.release()
            pool.bytesInUse() shouldBe 0L
            b.close()
        }
    }

    test("close frees every byte: readable, unflushed, views' scratch, slices' shares and bookings") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            b.writeBinary(seqBytes(13, 10_000))
            b.seal()
            b.writeBinary(seqBytes(14, 100_000).copyOf(90_000))
            b.flush()
            b.skip(9000)
            b.next(8000) // spans two nodes: scratch
            b.writeBinary(ByteArray(5000)) // unflushed
            b.malloc(70_000) // unpooled, unflushed
            val slice = b.slice(10_000)
            b.book(100, NativeBuffer(16).buffer(), 1)
            b.close()
            slice.readBinary(10_000).size shouldBe 10_000
            slice.close()
        }
    }

    test("a view used after release shows poison once its chunk was freed").config(enabled = poisoned) {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val small = seqBytes(15, 300)
            val big = seqBytes(16, 100_000) // malloc > 64 KiB: an unpooled chunk
            b.writeBinary(small)
            b.malloc(big.size).put(0, big)
            b.seal()
            val inNode = b.next(300)
            val unpooled = b.next(50_000)
            inNode.shouldHold(small)
            unpooled.shouldHold(big.copyOf(50_000))
            b.skip(50_000)
            b.release()
            // documented: the buffer is empty and sealed, so release freed every chunk, and a freed
            // chunk is overwritten with 0xDE when netpoll.buffer.poison is set
            pool.bytesInUse() shouldBe 0L
            inNode.contents().all { it == POISON } shouldBe true
            unpooled.contents().all { it == POISON } shouldBe true
            b.close()
        }
    }

    test("a spanning view used after release shows poison: its scratch memory was freed").config(enabled = poisoned) {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val data = seqBytes(17, 600)
            b.writeBinary(data, 0, 300)
            b.seal() // the next 300 bytes go to another node
            b.writeBinary(data, 300, 300)
            b.flush()
            val view = b.peek(600)
            view.shouldHold(data)
            b.release() // nothing consumed, but the scratch copy is freed
            view.contents().all { it == POISON } shouldBe true
            b.readBinary(600).shouldBeBytes(data)
            b.close()
        }
    }
}) {
    companion object {
        val POISON = 0xDE.toByte()
    }
}
