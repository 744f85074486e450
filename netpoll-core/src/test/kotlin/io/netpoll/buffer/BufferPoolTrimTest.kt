package io.netpoll.buffer

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.netpoll.poll.Poller
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/** An idle pool gives its memory back: the shared stacks by trim(), the poller caches by trimThreadCache(). */
class BufferPoolTrimTest : FunSpec({
    /** Runs [block] on [poller]'s thread and waits for it. */
    fun <T> on(poller: Poller, block: () -> T): T {
        val f = CompletableFuture<T>()
        poller.execute {
            try {
                f.complete(block())
            } catch (e: Throwable) {
                f.completeExceptionally(e)
            }
        }
        return f.get(10, TimeUnit.SECONDS)
    }

    /** Writes and consumes [n] bytes through a buffer on the calling thread (a poller's: through its cache). */
    fun churn(pool: BufferPool, n: Int) {
        val b = LinkBuffer(pool)
        b.writeBinary(seqBytes(1, n))
        b.flush()
        b.skip(n)
        b.shouldFreeEverything(pool)
    }

    test("an idle poller's cache goes back to the shared stacks at its second trimThreadCache, a busy one's stays; trim() then frees them all") {
        withPool { pool ->
            Poller("trim-test").use { poller ->
                on(poller) { churn(pool, 40_000) }
                pool.bytesPooled() shouldBeGreaterThan 0L // in the poller's cache
                val cached = pool.bytesPooled()
                on(poller) { pool.trimThreadCache() } // used since the last call: kept
                pool.trim()
                pool.trim()
                pool.bytesPooled() shouldBe cached // before: no call could reach the poller's cache at all
                on(poller) { churn(pool, 40_000); pool.trimThreadCache() } // busy again: kept
                pool.bytesPooled() shouldBe cached
                on(poller) { pool.trimThreadCache() } // idle for a whole period: handed back
                pool.trim() // the stacks' chunks were unused before this trim's period began
                pool.trim()
                pool.bytesPooled() shouldBe 0L
            }
        }
    }

    test("a poller thread that ends hands its cache back and keeps the pool's accounting exact") {
        withPool { pool ->
            val poller = Poller("trim-exit")
            val thread = on(poller) { churn(pool, 40_000); Thread.currentThread() }
            val cached = pool.bytesPooled()
            cached shouldBeGreaterThan 0L
            poller.close()
            thread.join(10_000) // its exit hooks ran (after the poller's termination)
            thread.isAlive shouldBe false
            pool.bytesInUse() shouldBe 0L
            pool.bytesPooled() shouldBe cached // now in the shared stacks
            pool.trim()
            pool.trim()
            pool.bytesPooled() shouldBe 0L
        }
    }
})
