package io.netpoll.buffer

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.netpoll.error.EofException

class LinkBufferBasicsTest : FunSpec({
    test("written bytes are invisible until flush, then read back exactly") {
        val pool = BufferPool(1 shl 20)
        val b = LinkBuffer(pool)
        b.writeInt(0x01020304)
        b.writeString("hello")
        b.len() shouldBe 0
        b.mallocLen() shouldBe 9
        b.flush()
        b.len() shouldBe 9
        b.readInt() shouldBe 0x01020304
        b.readString(5) shouldBe "hello"
        b.release()
        b.close()
        pool.bytesInUse() shouldBe 0L
    }

    test("a view spanning nodes is assembled and every byte matches") {
        val pool = BufferPool(1 shl 20)
        val b = LinkBuffer(pool)
        val data = ByteArray(10_000) { (it % 200).toByte() }
        data[9999] = 250.toByte()
        b.writeBinary(data)
        b.flush()
        b.peekByte(4097) shouldBe data[4097]
        b.indexOf(data[9999], 9000) shouldBe 9999
        val view = b.next(10_000)
        val back = ByteArray(10_000)
        view.get(0, back)
        back.contentEquals(data) shouldBe true
        b.release()
        b.close()
        pool.bytesInUse() shouldBe 0L
    }

    test("reading past the end is EOF and consumes nothing") {
        val b = LinkBuffer(BufferPool(0))
        b.writeByte(1)
        b.flush()
        val e = shouldThrow<EofException> { b.next(2) }
        e.message shouldBe "EOF: need 2 bytes, 1 available"
        b.len() shouldBe 1
        shouldThrow<IllegalArgumentException> { b.next(-1) }
        b.close()
        shouldThrow<IllegalStateException> { b.len().also { b.next(1) } }
    }

    test("slice and append share memory and the pool gets every chunk back") {
        val pool = BufferPool(1 shl 20)
        val a = LinkBuffer(pool)
        a.writeBinary(ByteArray(6000) { (it % 251).toByte() })
        a.flush()
        val s = a.slice(5000)
        a.len() shouldBe 1000
        s.len() shouldBe 5000
        val c = LinkBuffer(pool)
        c.writeString("x")
        c.append(s)
        c.flush()
        s.len() shouldBe 0
        c.readByte() shouldBe 'x'.code.toByte()
        c.readBinary(5000).withIndex().all { (i, v) -> v == (i % 251).toByte() } shouldBe true
        a.readBinary(1000)[0] shouldBe (5000 % 251).toByte()
        a.release(); c.release(); s.release()
        a.close(); c.close(); s.close()
        pool.bytesInUse() shouldBe 0L
    }

    test("an empty buffer whose last node was sealed holds no memory after release") {
        val pool = BufferPool(1 shl 20)
        val b = LinkBuffer(pool)
        b.writeBinary(ByteArray(100))
        b.seal()
        (pool.bytesInUse() > 0) shouldBe true
        b.skip(100)
        b.release()
        pool.bytesInUse() shouldBe 0L
        b.writeInt(7)
        b.flush()
        b.readInt() shouldBe 7
        b.close()
        pool.bytesInUse() shouldBe 0L
    }

    test("peekInt reads a big-endian int at an offset, also across nodes, without consuming") {
        val pool = BufferPool(1 shl 20)
        val b = LinkBuffer(pool)
        b.writeBinary(ByteArray(4094) + byteArrayOf(0x0A, 0x0B))
        b.flush()
        val tail = LinkBuffer(pool)
        tail.writeBinary(byteArrayOf(0x0C, 0x0D, -1, -1, -1, -2))
        tail.flush()
        b.append(tail) // a second node: the int at 4094 spans the two
        b.flush()
        b.peekInt(4094) shouldBe 0x0A0B0C0D
        b.peekInt(4098) shouldBe -2
        b.len() shouldBe 4102
        shouldThrow<IndexOutOfBoundsException> { b.peekInt(4099) }
        b.close()
        tail.close()
        pool.bytesInUse() shouldBe 0L
    }

    test("mallocAck keeps the first bytes and drops the rest") {
        val b = LinkBuffer(BufferPool(1 shl 20))
        val v = b.malloc(8)
        v.putInt(0, 42)
        b.mallocAck(4)
        shouldThrow<IllegalArgumentException> { b.mallocAck(5) }
        b.flush()
        b.len() shouldBe 4
        b.readInt() shouldBe 42
        b.close()
    }
})
