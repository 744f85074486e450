package io.netpoll.buffer

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeSameInstanceAs
import io.kotest.matchers.types.shouldNotBeSameInstanceAs
import java.nio.ByteOrder
import java.util.Collections
import java.util.IdentityHashMap

/**
 * next() and peek() reuse one view object per chunk across release() (`Views`), re-pointed only by
 * the buffer that made it, so frame parsing allocates no view per frame. Reuse is off under the debug poisoning (the suite's default run): there
 * every view must be a new object. The `buffer-views` surefire run repeats this spec without poisoning,
 * where reuse must be on wherever the JDK allows it (17 to 20), so a reuse that silently stopped
 * working fails here.
 */
class LinkBufferViewReuseTest : FunSpec({
    val poisoned = java.lang.Boolean.getBoolean("netpoll.buffer.poison")

    test("reuse is on exactly when the debug poisoning is off and the JDK lets a view be re-pointed") {
        val capacityFinal = java.lang.reflect.Modifier.isFinal(java.nio.Buffer::class.java.getDeclaredField("capacity").modifiers)
        Views.ENABLED shouldBe (!poisoned && !capacityFinal && Runtime.version().feature() < 24)
    }

    test("a view after release is the earlier view object pointed at the new bytes, shaped as a new view whatever the caller did to it") {
        withPool { pool ->
            val data = seqBytes(1, 300)
            val b = published(pool, data)
            val first = b.next(100)
            first.shouldHold(data.copyOfRange(0, 100))
            first.order(ByteOrder.LITTLE_ENDIAN).position(7).mark().limit(50)
            b.release()
            val second = b.next(60)
            second.shouldHold(data.copyOfRange(100, 160))
            second.capacity() shouldBe 60
            if (Views.ENABLED) second shouldBeSameInstanceAs first else second shouldNotBeSameInstanceAs first
            shouldThrow<java.nio.InvalidMarkException> { second.reset() }
            b.release()
            b.peek(140).shouldHold(data.copyOfRange(160, 300), "peek after release")
            b.skip(140)
            b.shouldFreeEverything(pool)
        }
    }

    test("views handed out between two releases are distinct objects and all keep their bytes") {
        withPool { pool ->
            val data = seqBytes(2, 2000)
            val b = published(pool, data)
            repeat(3) { round ->
                val at = round * 600
                val views = listOf(
                    b.peek(10) to data.copyOfRange(at, at + 10),
                    b.next(200) to data.copyOfRange(at, at + 200),
                    b.next(300) to data.copyOfRange(at + 200, at + 500),
                    b.peek(100) to data.copyOfRange(at + 500, at + 600),
                )
                b.skip(100)
                val distinct = Collections.newSetFromMap(IdentityHashMap<java.nio.ByteBuffer, Boolean>())
                views.forEach { distinct += it.first }
                distinct.size shouldBe views.size
                views.forEach { (v, want) -> v.shouldHold(want, "round $round") }
                b.release()
            }
            b.skip(200)
            b.shouldFreeEverything(pool)
        }
    }

    test("a reused view's capacity ends at its bytes: it cannot be widened into the bytes after them") {
        withPool { pool ->
            val b = published(pool, seqBytes(3, 1000))
            b.next(500)
            b.release()
            val v = b.next(8)
            v.capacity() shouldBe 8
            shouldThrow<IllegalArgumentException> { v.limit(9) }
            shouldThrow<IndexOutOfBoundsException> { v.get(8) }
            shouldThrow<IndexOutOfBoundsException> { v.put(8, 1) }
            b.release()
            b.skip(492)
            b.shouldFreeEverything(pool)
        }
    }

    test("steady writes, reads and releases hand out the same few view objects while nodes come and go") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val views = Collections.newSetFromMap(IdentityHashMap<java.nio.ByteBuffer, Boolean>())
            for (i in 0 until 1000) {
                val data = seqBytes(i.toLong(), 1024)
                b.writeBinary(data)
                b.flush()
                val v = b.next(1024)
                v.shouldHold(data, "round $i")
                views += v
                b.release()
            }
            // 4 KiB nodes hold four writes each: 250 nodes over the pool's chunks, one view per chunk
            if (Views.ENABLED) views.size shouldBe 1 else views.size shouldBe 1000
            b.shouldFreeEverything(pool)
        }
    }

    test("while a slice shares a chunk every view of it is a new object; once the slice lets go the source reuses one again") {
        withPool { pool ->
            val data = seqBytes(6, 4000)
            val b = published(pool, data)
            val s = b.slice(1000)
            val a1 = b.next(100)
            b.release()
            val a2 = b.next(100)
            a2 shouldNotBeSameInstanceAs a1
            val fromSlice = s.next(1000)
            fromSlice shouldNotBeSameInstanceAs a2
            fromSlice.shouldHold(data.copyOfRange(0, 1000), "slice view")
            a2.shouldHold(data.copyOfRange(1100, 1200), "source view while the slice reads")
            s.release()
            s.close()
            a2.shouldHold(data.copyOfRange(1100, 1200), "source view after the slice's release and close")
            b.release()
            val a3 = b.next(100)
            b.release()
            val a4 = b.next(100)
            a4.shouldHold(data.copyOfRange(1300, 1400))
            if (Views.ENABLED) a4 shouldBeSameInstanceAs a3 else a4 shouldNotBeSameInstanceAs a3
            b.skip(2600)
            b.shouldFreeEverything(pool)
        }
    }

    test("a view object never moves to another buffer: a slice left holding the chunk alone makes its own, and the source's view stays as its caller left it") {
        withPool { pool ->
            val data = seqBytes(7, 100)
            val b = sealed(pool, data)
            val v = b.next(10) // made while b holds the chunk alone: the chunk's view, b's
            val s = b.slice(90) // now shared
            b.release() // b's node, consumed and sealed, is freed; the slice keeps the chunk
            val w = s.next(50) // the slice holds the chunk alone now
            w shouldNotBeSameInstanceAs v
            w.shouldHold(data.copyOfRange(10, 60), "slice view")
            v.shouldHold(data.copyOfRange(0, 10), "the source's view, past its release but untouched")
            s.release()
            val x = s.next(40)
            if (Views.ENABLED) x shouldBeSameInstanceAs w // the slice's own view, re-pointed
            x.shouldHold(data.copyOfRange(60, 100))
            v.shouldHold(data.copyOfRange(0, 10), "the source's view, still untouched")
            s.shouldFreeEverything(pool)
            b.close()
        }
    }

    test("a chunk recycled to another buffer gets a view of that buffer; the first buffer's view keeps its shape") {
        withPool { pool ->
            val b1 = sealed(pool, seqBytes(8, 300))
            val k = b1.head.chunk
            val v = b1.next(300)
            b1.release() // the chunk goes back to the pool
            val b2 = LinkBuffer(pool)
            val more = seqBytes(9, 100)
            b2.writeBinary(more) // the same pool, the same thread: the same chunk again
            b2.flush()
            b2.head.chunk shouldBeSameInstanceAs k
            k.viewOwner shouldBe null // b2's writer dropped b1's view: the chunk keeps b1 reachable no more
            val w = b2.next(100)
            w shouldNotBeSameInstanceAs v
            w.shouldHold(more)
            v.capacity() shouldBe 300
            v.limit() shouldBe 300
            b2.shouldFreeEverything(pool)
            b1.close()
        }
    }

    test("a buffer appended to another leaves its view behind: the receiver makes its own, and the view the appended buffer lent keeps its shape") {
        withPool { pool ->
            val data = seqBytes(11, 200)
            val other = published(pool, data)
            val v = other.peek(50) // other holds the chunk alone: the chunk's view, other's
            val dst = LinkBuffer(pool)
            dst.append(other) // adopts other's node as it is (and releases other)
            dst.flush()
            val w = dst.next(200)
            w shouldNotBeSameInstanceAs v
            w.shouldHold(data, "receiver's view")
            v.capacity() shouldBe 50
            v.limit() shouldBe 50
            dst.release()
            val x = dst.peek(0)
            x.limit() shouldBe 0
            dst.shouldFreeEverything(pool)
            other.close()
        }
    }

    test("closing a buffer drops its view from the chunks it held, so a chunk still shared keeps it no more") {
        withPool { pool ->
            val b = published(pool, seqBytes(10, 100))
            b.next(10)
            val s = b.slice(20)
            b.close()
            s.head.chunk.viewOwner shouldBe null
            s.head.chunk.view shouldBe null
            s.skip(20)
            s.shouldFreeEverything(pool)
        }
    }

    test("slices read on another thread while the source keeps parsing: every view holds its bytes until its own buffer's release") {
        // The source's reader hands every third frame to a second thread as a slice and reads the
        // others as views; the second thread reads its slices as views too. Chunks go from shared
        // (refs 2) to held alone by either side in every order, so each side re-points chunk views
        // that the other side's views came from earlier.
        withPool { pool ->
            val frames = 20_000
            val b = LinkBuffer(pool)
            val sizes = IntArray(frames) { 1 + (it * 7919) % 700 }
            for (i in 0 until frames) b.writeBinary(seqBytes(i.toLong(), sizes[i])).also { if (i % 50 == 49) b.flush() }
            b.seal()
            val queue = java.util.concurrent.ArrayBlockingQueue<Pair<Int, LinkBuffer>>(64)
            val failure = java.util.concurrent.atomic.AtomicReference<Throwable>()
            val other = Thread {
                try {
                    while (true) {
                        val (i, s) = queue.take()
                        if (i < 0) break
                        val want = seqBytes(i.toLong(), sizes[i])
                        val half = sizes[i] / 2
                        val v1 = s.next(half)
                        val v2 = s.peek(sizes[i] - half)
                        Thread.yield()
                        v1.shouldHold(want.copyOfRange(0, half), "slice $i first half")
                        v2.shouldHold(want.copyOfRange(half, sizes[i]), "slice $i second half")
                        s.skip(sizes[i] - half)
                        s.release()
                        s.close()
                    }
                } catch (t: Throwable) {
                    failure.compareAndSet(null, t)
                }
            }
            other.start()
            try {
                val held = ArrayList<Pair<Int, java.nio.ByteBuffer>>()
                for (i in 0 until frames) {
                    if (failure.get() != null) break
                    if (i % 3 == 0) {
                        queue.put(i to b.slice(sizes[i]))
                    } else {
                        held += i to b.next(sizes[i])
                    }
                    if (i % 4 == 3) {
                        Thread.yield() // the other thread runs on meanwhile
                        held.forEach { (j, v) -> v.shouldHold(seqBytes(j.toLong(), sizes[j]), "frame $j before its release") }
                        held.clear()
                        b.release()
                    }
                }
            } finally {
                queue.put(-1 to b)
                other.join(60_000)
            }
            failure.get()?.let { throw it }
            b.shouldFreeEverything(pool)
        }
    }
})

/** A buffer of [pool] holding [data], published to its reader. */
private fun published(pool: BufferPool, data: ByteArray): LinkBuffer = LinkBuffer(pool).apply {
    writeBinary(data)
    flush()
}

/** A buffer of [pool] holding [data], published and sealed (release() frees it once consumed). */
private fun sealed(pool: BufferPool, data: ByteArray): LinkBuffer = published(pool, data).apply { seal() }
