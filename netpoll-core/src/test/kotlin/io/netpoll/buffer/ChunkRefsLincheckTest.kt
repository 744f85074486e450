package io.netpoll.buffer

import io.kotest.core.spec.style.FunSpec
import io.netpoll.modelChecking
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.annotations.Validate
import org.jetbrains.kotlinx.lincheck.check

/**
 * Model-checks [Chunk]'s reference count with Lincheck. Its fast path stores the new count with a
 * plain release store when it reads 1 (a holder that sees 1 is the only one), and uses an atomic
 * add otherwise; three holders on three threads retain and release concurrently, and after every
 * interleaving explored the count must equal the references still held and the chunk must have gone
 * back to its pool exactly once, when the last one let go (the pool's bytes in use say so: a double
 * recycle takes them below zero, a lost one leaves them up).
 */
class ChunkRefsLincheckTest : FunSpec({
    test("concurrent retains and releases recycle a chunk exactly once, when the last reference goes") {
        modelChecking()
            // the races that matter on every run: all three holders letting go at once, and a
            // holder retaining while another lets go of its last reference
            .addCustomScenario {
                parallel {
                    thread { actor(ChunkRefsOps::releaseA) }
                    thread { actor(ChunkRefsOps::releaseB) }
                    thread { actor(ChunkRefsOps::releaseC) }
                }
            }
            .addCustomScenario {
                parallel {
                    thread { actor(ChunkRefsOps::retainA); actor(ChunkRefsOps::releaseA); actor(ChunkRefsOps::releaseA) }
                    thread { actor(ChunkRefsOps::releaseB) }
                    thread { actor(ChunkRefsOps::retainC); actor(ChunkRefsOps::releaseC) }
                }
            }
            .actorsBefore(1)
            .actorsAfter(1)
            .check(ChunkRefsOps::class.java)
    }
})

/**
 * Three holders of one pooled chunk, A, B and C, each holding one reference at the start. Each
 * holder's operations run on one thread (`nonParallelGroup`), as a node is used by the thread that
 * holds it; a holder with nothing left to release does nothing.
 */
class ChunkRefsOps {
    private val pool = BufferPool(1L shl 20)
    private val chunk = pool.allocate(BufferPool.MIN_CHUNK).also {
        it.retain()
        it.retain()
    }
    private val held = intArrayOf(1, 1, 1)

    @Operation(nonParallelGroup = "a") fun retainA(): Int = retain(0)
    @Operation(nonParallelGroup = "a") fun releaseA(): Int = release(0)
    @Operation(nonParallelGroup = "b") fun retainB(): Int = retain(1)
    @Operation(nonParallelGroup = "b") fun releaseB(): Int = release(1)
    @Operation(nonParallelGroup = "c") fun retainC(): Int = retain(2)
    @Operation(nonParallelGroup = "c") fun releaseC(): Int = release(2)

    /** A holder shares the chunk once more (a slice, an append); returns what it now holds. */
    private fun retain(holder: Int): Int {
        if (held[holder] == 0) return 0
        chunk.retain()
        return ++held[holder]
    }

    /** A holder frees one node; returns what it still holds. */
    private fun release(holder: Int): Int {
        if (held[holder] == 0) return 0
        chunk.release()
        return --held[holder]
    }

    @Validate
    fun countMatchesAndRecycledOnce() {
        val stillHeld = held.sum()
        val chunkBytes = BufferPool.MIN_CHUNK.toLong()
        if (stillHeld > 0) {
            check(chunk.refs() == stillHeld) { "count ${chunk.refs()}, but $stillHeld references are held" }
            check(pool.bytesInUse() == chunkBytes) { "${pool.bytesInUse()} bytes in use while the chunk is held" }
        } else {
            // recycled: back in the pool once (a second recycle would count it freed twice)
            check(pool.bytesInUse() == 0L) { "${pool.bytesInUse()} bytes in use after the last release" }
            check(pool.bytesPooled() == chunkBytes) { "${pool.bytesPooled()} bytes pooled after the last release" }
        }
    }
}
