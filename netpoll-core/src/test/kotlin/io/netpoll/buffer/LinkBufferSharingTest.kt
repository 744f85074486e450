package io.netpoll.buffer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlin.random.Random

/**
 * Slices and appends share chunks by reference count: either side may be released or closed first
 * without disturbing the other's bytes, and the pool gets every chunk back exactly once (never
 * early, never twice). Each behaviour runs against every [Layout].
 */
class LinkBufferSharingTest : FunSpec({
    for (layout in Layout.values()) {
        val name = layout.name.lowercase()

        test("closing the source first leaves a slice's bytes intact, $name layout") {
            withPool { pool ->
                val data = seqBytes(1, 20_000)
                val src = layout.build(pool, data, Random(1))
                src.skip(100)
                val slice = src.slice(15_000)
                src.readBinary(4_900).shouldBeBytes(data.copyOfRange(15_100, 20_000))
                src.release()
                src.close()
                pool.bytesInUse() shouldBeGreaterThan 0L // the slice still holds its chunks
                // the freed neighbours were poisoned; the shared chunks were not
                slice.readBinary(15_000).shouldBeBytes(data.copyOfRange(100, 15_100), "slice after source closed")
                slice.release()
                slice.close()
            }
        }

        test("closing a slice first leaves the source's bytes intact, $name layout") {
            withPool { pool ->
                val data = seqBytes(2, 12_345)
                val src = layout.build(pool, data, Random(2))
                val slices = (0 until 5).map { src.slice(1000) }
                slices.forEach { it.close() } // never read
                val view = src.peek(2345)
                src.readBinary(7345).shouldBeBytes(data.copyOfRange(5000, 12_345), "source after slices closed")
                view.shouldHold(data.copyOfRange(5000, 7345), "peek view after slices closed")
                src.release()
                src.close()
            }
        }

        test("appending slices moves bytes without copying and every side frees its own reference, $name layout") {
            withPool { pool ->
                val data = seqBytes(3, 30_000)
                val src = layout.build(pool, data, Random(3))
                val left = LinkBuffer(pool)
                val right = LinkBuffer(pool)
                val r = Random(33)
                var at = 0
                var toLeft = true
                val wantLeft = java.io.ByteArrayOutputStream()
                val wantRight = java.io.ByteArrayOutputStream()
                while (at < data.size) {
                    val k = minOf(r.nextInt(1, 4000), data.size - at)
                    val slice = src.slice(k)
                    (if (toLeft) left else right).append(slice)
                    (if (toLeft) wantLeft else wantRight).write(data, at, k)
                    slice.len() shouldBe 0
                    slice.close()
                    if (r.nextBoolean()) src.release()
                    toLeft = !toLeft
                    at += k
                }
                src.release()
                src.close()
                left.seal()
                right.flush()
                // read one side and free it while the other still shares the same chunks
                left.readBinary(left.len()).shouldBeBytes(wantLeft.toByteArray(), "left")
                left.release()
                left.close()
                right.readBinary(right.len()).shouldBeBytes(wantRight.toByteArray(), "right")
                right.release()
                right.close()
            }
        }

        test("a slice of a slice of an appended buffer still reads the original bytes, $name layout") {
            withPool { pool ->
                val data = seqBytes(4, 9000)
                val a = layout.build(pool, data, Random(4))
                val b = LinkBuffer(pool)
                b.writeString("head")
                b.append(a)
                b.flush()
                a.close()
                b.skip(4)
                val s1 = b.slice(8000)
                b.release()
                val s2 = s1.slice(5000)
                s1.release()
                s1.readBinary(3000).shouldBeBytes(data.copyOfRange(5000, 8000))
                s1.close()
                b.readBinary(1000).shouldBeBytes(data.copyOfRange(8000, 9000))
                b.close()
                s2.readBinary(5000).shouldBeBytes(data.copyOfRange(0, 5000))
                s2.close()
            }
        }
    }

    test("a chunk shared by three buffers returns to the pool once, when the last one lets go") {
        withPool { pool ->
            val a = LinkBuffer(pool)
            a.writeBinary(seqBytes(5, 3000)) // one 4 KiB chunk
            a.seal()
            pool.bytesInUse() shouldBe 4096L
            val s1 = a.slice(1000)
            val s2 = a.slice(1000)
            val c = LinkBuffer(pool)
            c.append(a) // the last 1000 bytes
            c.flush()
            a.release()
            a.close()
            pool.bytesInUse() shouldBe 4096L // still shared by s1, s2 and c
            s1.close()
            c.close()
            pool.bytesInUse() shouldBe 4096L
            pool.bytesPooled() shouldBe 0L
            s2.readBinary(1000).shouldBeBytes(seqBytes(5, 3000).copyOfRange(1000, 2000))
            s2.close()
            pool.bytesInUse() shouldBe 0L
            pool.bytesPooled() shouldBe 4096L // pooled once: a double release would count it twice
            // and handed out once: after one reuse nothing is left pooled
            val d = LinkBuffer(pool)
            d.writeByte(1)
            pool.bytesPooled() shouldBe 0L
            val e = LinkBuffer(pool)
            e.writeByte(2)
            pool.bytesInUse() shouldBe 8192L
            d.close()
            e.close()
        }
    }

    test("appending a buffer leaves it empty, and releasing it frees nothing the receiver needs") {
        withPool { pool ->
            val data = seqBytes(6, 5000)
            val a = Layout.SPLIT_CHAIN.build(pool, data, Random(6))
            val b = LinkBuffer(pool)
            b.append(a)
            a.len() shouldBe 0
            a.release()
            a.writeString("more")
            a.flush()
            a.readString(4) shouldBe "more"
            a.close()
            b.len() shouldBe 0 // appended bytes are published by the receiver's flush
            b.mallocLen() shouldBe 5000
            b.flush()
            b.readBinary(5000).shouldBeBytes(data)
            b.close()
        }
    }

    test("a slice appended back to its own buffer shares chunks with the consumed head") {
        withPool { pool ->
            val data = seqBytes(7, 10_000)
            val b = Layout.MIXED_SIZES.build(pool, data, Random(7))
            repeat(7) {
                val s = b.slice(1000)
                b.append(s)
                s.close()
                b.flush()
                b.release()
            }
            val want = data.copyOfRange(7000, 10_000) + data.copyOfRange(0, 7000)
            b.readBinary(10_000).shouldBeBytes(want)
            b.release()
            b.close()
        }
    }

    test("slices and appends share pages without copying: the pool hands out no new memory") {
        withPool { pool ->
            val a = LinkBuffer(pool)
            a.writeBinary(seqBytes(8, 64 * 1024))
            a.flush()
            val before = pool.bytesInUse()
            val b = LinkBuffer(pool)
            repeat(64) {
                val s = a.slice(1024)
                b.append(s)
                s.close()
            }
            pool.bytesInUse() shouldBe before
            b.flush()
            a.release()
            a.close()
            b.readBinary(64 * 1024).shouldBeBytes(seqBytes(8, 64 * 1024))
            b.close()
        }
    }
})
