package io.netpoll.buffer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeSameInstanceAs
import io.netpoll.sys.NativeBuffer
import java.util.Collections
import java.util.IdentityHashMap

/**
 * The writer's next node is the node object the reader freed last (`NodeChain.spare`), so steady
 * traffic allocates no node objects; and reusing one never loses track of the writer's own place in
 * the chain (its tail, its first unflushed node). Slices take node objects from the thread's
 * `NodeCache`, which appends that adopt a slice's nodes fill with the writer's spare node. White-box:
 * the tests look at the writer's `tail` and a slice's `head`.
 */
class LinkBufferNodeReuseTest : FunSpec({
    test("steady writes, reads and releases go round one node object instead of allocating new ones") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val nodes = Collections.newSetFromMap(IdentityHashMap<Node, Boolean>())
            for (i in 0 until 10_000) {
                val data = seqRange(i * 1024L, 1024)
                b.writeBinary(data)
                b.flush()
                nodes += b.tail
                b.readBinary(1024).shouldBeBytes(data, "round $i")
                b.release()
            }
            // 4 KiB nodes hold four writes each: 2,500 nodes were filled and freed, by one object
            nodes.size shouldBeLessThanOrEqual 2
            b.shouldFreeEverything(pool)
        }
    }

    test("a node the reader freed keeps no chunk, so an idle buffer holds no memory the pool dropped; zero-size writes still work after it") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            b.malloc(2 shl 20).put(0, 9) // larger than MAX_CHUNK: never pooled, dropped at its release
            b.flush()
            b.seal()
            b.skip(2 shl 20)
            b.release() // frees the last node: it stays as the writer's tail and spare
            val freed = b.tail
            freed.chunk shouldBe null // before: the 2 MiB chunk, reachable for as long as the buffer lives
            pool.bytesInUse() shouldBe 0L
            b.malloc(0).capacity() shouldBe 0 // the tail has no chunk now: neither may touch it
            b.writeString("")
            b.writeString("after")
            b.flush()
            b.readString(5) shouldBe "after"
            b.release()
            b.shouldFreeEverything(pool)
        }
    }

    test("kernel reads (book, bookAck) reuse the node the reader freed") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val iov = NativeBuffer(16)
            val nodes = Collections.newSetFromMap(IdentityHashMap<Node, Boolean>())
            for (i in 0 until 2_000) {
                b.book(8192, iov.buffer(), 1)
                val data = seqRange(i * 700L, 700)
                writeNative(iov.getLong(0), data, 0, data.size)
                b.bookAck(data.size)
                nodes += b.tail
                b.readBinary(700).shouldBeBytes(data, "read $i")
                b.release()
            }
            nodes.size shouldBeLessThanOrEqual 2
            pool.bytesInUse() shouldBe 0L
            b.close()
        }
    }

    test("reusing the freed node the writer still marks as its first unflushed one publishes every byte behind it") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val first = seqRange(0, LinkBuffer.DEFAULT_NODE_SIZE)
            b.writeBinary(first) // fills node X exactly
            b.flush() // X is the tail and the writer's first node that may hold unflushed bytes
            val second = seqRange(first.size.toLong(), 100)
            b.writeBinary(second) // no room in X: node Y, unflushed
            b.readBinary(first.size).shouldBeBytes(first, "node X")
            b.release() // X is consumed to its end: freed with Y after it
            val third = seqRange(first.size + 100L, 4_000)
            b.writeBinary(third) // fills Y, then takes X as the next node
            b.flush()
            b.len() shouldBe 4_100
            b.readBinary(4_100).shouldBeBytes(second + third, "nodes Y and X again")
            b.shouldFreeEverything(pool)
        }
    }

    test("reusing the freed last node, still the writer's tail, starts a new chain") {
        withPool { pool ->
            val b = LinkBuffer(pool)
            val first = seqRange(0, LinkBuffer.DEFAULT_NODE_SIZE)
            b.writeBinary(first)
            b.flush()
            b.readBinary(first.size).shouldBeBytes(first, "node X")
            b.release() // X is full and consumed: the reader frees it as the last node
            val second = seqRange(first.size.toLong(), 10)
            b.writeBinary(second)
            b.flush()
            b.len() shouldBe 10
            b.readBinary(10).shouldBeBytes(second, "the new chain")
            b.shouldFreeEverything(pool)
        }
    }

    test("forwarding slices of one buffer to another goes round a few node objects instead of allocating one per slice") {
        withPool { pool ->
            val input = LinkBuffer(pool)
            val output = LinkBuffer(pool)
            val nodes = Collections.newSetFromMap(IdentityHashMap<Node, Boolean>())
            for (i in 0 until 10_000) {
                val data = seqRange(i * 3000L, 3000)
                input.writeBinary(data)
                input.seal() // as after a kernel read
                val slice = input.slice(data.size)
                nodes += slice.head!!
                output.append(slice) // adopts the slice's node
                slice.close()
                input.release()
                output.flush()
                output.readBinary(data.size).shouldBeBytes(data, "forwarded $i") // as a send would
                output.release()
            }
            // whatever this thread's node cache held before, the rounds reuse a handful of objects
            nodes.size shouldBeLessThanOrEqual 10
            input.shouldFreeEverything(pool)
            output.shouldFreeEverything(pool)
        }
    }

    test("a slice that takes the node object an append handed over never disturbs the buffers that shared it") {
        withPool { pool ->
            val out = LinkBuffer(pool)
            val warm = seqRange(50_000, 100)
            out.writeBinary(warm)
            out.seal()
            val handedOver = out.tail
            out.readBinary(warm.size).shouldBeBytes(warm, "out, first")
            out.release() // out's reader freed its node: out's spare
            val a = LinkBuffer(pool)
            val dataA = seqRange(0, 300)
            a.writeBinary(dataA)
            a.flush()
            val first = a.slice(100)
            val second = a.slice(100) // shares first's chunk
            out.append(first) // adopts first's node; out's spare goes to this thread's node cache
            first.close()
            val b = LinkBuffer(pool)
            val dataB = seqRange(10_000, 200)
            b.writeBinary(dataB)
            b.flush()
            val third = b.slice(200) // takes that node object, for other memory
            third.head shouldBeSameInstanceAs handedOver
            out.flush()
            out.readBinary(100).shouldBeBytes(dataA.copyOfRange(0, 100), "the adopted slice")
            second.readBinary(100).shouldBeBytes(dataA.copyOfRange(100, 200), "the other slice")
            third.readBinary(200).shouldBeBytes(dataB, "the slice on the handed-over node")
            a.readBinary(100).shouldBeBytes(dataA.copyOfRange(200, 300), "the source")
            second.close()
            third.close()
            b.seal()
            b.release()
            b.close()
            out.seal()
            out.release()
            out.close()
            a.shouldFreeEverything(pool)
        }
    }
})
