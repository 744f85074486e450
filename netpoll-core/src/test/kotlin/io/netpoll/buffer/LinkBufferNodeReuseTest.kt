package io.netpoll.buffer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.netpoll.sys.NativeBuffer
import java.util.Collections
import java.util.IdentityHashMap

/**
 * The writer's next node is the node object the reader freed last (`NodeChain.spare`), so steady
 * traffic allocates no node objects; and reusing one never loses track of the writer's own place in
 * the chain (its tail, its first unflushed node). White-box: the tests look at the writer's `tail`.
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
})
