package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe

class ReadSizerTest : FunSpec({
    /** Reads bursts of [burst] bytes the way the connection's read loop (ConnReadSide.readLoop) does; returns the read calls made. */
    fun readsFor(bursts: Int, burst: Int): Int {
        var state = ReadSizer.INITIAL
        var reads = 0
        repeat(bursts) {
            var left = burst
            while (true) {
                val booked = ReadSizer.size(state).toLong()
                val n = minOf(booked, left.toLong())
                reads++
                if (n == 0L) break // EAGAIN: nothing was there
                state = ReadSizer.record(state, booked, n)
                left -= n.toInt()
                if (n < booked) break // short read: drained
            }
        }
        return reads
    }

    test("pipelined bursts a little larger than the booking settle to one read each") {
        // 16 frames of 4 + 1024 bytes: the pipelined echo benchmark's burst
        val reads = readsFor(bursts = 1_000, burst = 16 * 1028)
        reads shouldBeLessThanOrEqual 1_000 + 3
    }

    test("full reads double the booking up to the maximum and no further") {
        var state = ReadSizer.INITIAL
        val sizes = generateSequence { ReadSizer.size(state).also { state = ReadSizer.record(state, it.toLong(), it.toLong()) } }
            .take(12).toList()
        sizes shouldBe listOf(8, 16, 32, 64, 128, 256, 512, 1024, 1024, 1024, 1024, 1024).map { it shl 10 }
    }

    test("two small reads in a row halve the booking, down to the minimum and no further") {
        var state = ReadSizer.INITIAL
        state = ReadSizer.record(state, 8192, 100)
        ReadSizer.size(state) shouldBe 8192
        state = ReadSizer.record(state, 8192, 100)
        ReadSizer.size(state) shouldBe 4096
        repeat(10) { state = ReadSizer.record(state, ReadSizer.size(state).toLong(), 1) }
        ReadSizer.size(state) shouldBe ReadSizer.MIN
    }

    test("a read of an eighth or more between two small reads keeps the booking") {
        var state = ReadSizer.record(ReadSizer.INITIAL, 8192, 100)
        state = ReadSizer.record(state, 8192, 1024)
        state = ReadSizer.record(state, 8192, 100)
        ReadSizer.size(state) shouldBe 8192
    }
})
