package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.netpoll.poll.WaitWord
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.suspendCancellableCoroutine
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.check
import kotlin.coroutines.Continuation
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import java.util.concurrent.atomic.AtomicInteger

/**
 * Model-checks the reusable [ParkSlot], where a handler coroutine on its own connection's poller
 * parks for bytes (`awaitBytes`: the slot re-checks the input on every wake-up and resumes the
 * coroutine only with the outcome), with Lincheck. The slot's word, its byte condition and its way
 * to the poller thread come from a model ([ModelSlot]), so no poller thread is needed: resuming "on
 * the poller" resumes on the thread that woke the slot. One coroutine reads; other threads deliver
 * bytes (readiness), close the input (end of input, an unblock without readiness) and cancel the
 * handler's job (the slot's cancellation hook); the slot decides with [bytesOutcome], the order
 * `InputWait` decides in, over the model input. Against [CoSlotModel] (plain
 * `suspendCancellableCoroutine` code: bytes first, then end of input, then the cancellation; else
 * wait): each read gets exactly one of those outcomes, bytes that arrive are never missed, and a
 * cancelled job ends a parked read once. (It found that bytes arriving just before the end of input,
 * while the slot decided off the poller thread, could be reported as the end of input: `bytesOutcome`
 * now looks at the bytes again after seeing the end.)
 */
class CoSlotLincheckTest : FunSpec({
    test("a read parked in the reusable slot gets its bytes, the end of input or its job's cancellation, exactly once") {
        coModelChecking()
            // the races that matter on every run: bytes, the end of input and the cancellation
            // landing while the read decides to park, and a second read after the first
            .addCustomScenario {
                parallel {
                    thread { actor(CoSlotOps::read); actor(CoSlotOps::read) }
                    thread { actor(CoSlotOps::arrive); actor(CoSlotOps::arrive) }
                    thread { actor(CoSlotOps::cancel) }
                }
            }
            .addCustomScenario {
                parallel {
                    thread { actor(CoSlotOps::read); actor(CoSlotOps::read) }
                    thread { actor(CoSlotOps::arrive) }
                    thread { actor(CoSlotOps::close) }
                }
            }
            .actorsBefore(1)
            .actorsAfter(1)
            .sequentialSpecification(CoSlotModel::class.java)
            .check(CoSlotOps::class.java)
    }
})

/** Outcomes of a read, as [CoSlotOps.read] and [CoSlotModel.read] return them. */
private const val BYTES = 1
private const val END = 0
private const val CANCELLED = -1

/**
 * The slot over a model connection: bytes counted as they arrive (a read takes all there are, as a
 * read of the input buffer does), an end-of-input flag, and a job whose cancellation the slot hears.
 */
class CoSlotOps {
    private val arrived = AtomicInteger()
    @Volatile private var taken = 0 // written by the reader only
    @Volatile private var ended = false
    private val job = Job()
    private val slot = ModelSlot(job, object : ByteWait {
        // InputWait's own order over the model input
        override fun outcome(n: Int): Any = bytesOutcome(n, { arrived.get() - taken }, { ended }, { false }) { ByteWait.PENDING }
        override fun waiting(n: Int) {}
        override fun done() {}
    })

    init {
        slot.register()
    }

    /** The handler's read: waits for bytes; takes them when they come. */
    @Operation(nonParallelGroup = "reader")
    suspend fun read(): Int = try {
        if (slot.awaitBytes(1)) {
            taken = arrived.get() // consumed: the next read waits for more
            BYTES
        } else {
            END
        }
    } catch (e: CancellationException) {
        CANCELLED
    }

    /** Bytes from the peer: the poller's readiness. */
    @Operation(nonParallelGroup = "poller")
    fun arrive() {
        arrived.incrementAndGet()
        slot.word.unblockAndWake(true)
    }

    /** The peer's FIN: end of input, an unblock without readiness. */
    @Operation(nonParallelGroup = "poller")
    fun close() {
        ended = true
        slot.word.unblockAndWake(false)
    }

    /** The handler's job is cancelled (its scope, a shutdown past its grace). */
    @Operation
    fun cancel() {
        job.cancel()
    }
}

/** A [ParkSlot] with its own word, resumed on whichever thread wakes it. */
internal class ModelSlot(job: Job, override val bytes: ByteWait) : ParkSlot(job) {
    public override val word: WaitWord = WaitWord()

    override fun resumeOnPoller(c: Continuation<Any?>, value: Any) {
        if (value is Throwable) c.resumeWithException(value) else c.resume(value)
    }

    override fun runOnPoller(task: Runnable) {
        task.run()
    }
}

/** The contract as plain sequential code: bytes first, then end of input, then the cancellation; else wait. */
class CoSlotModel {
    private var available = false
    private var ended = false
    private var cancelled = false
    private var waiter: CancellableContinuation<Int>? = null

    suspend fun read(): Int {
        val now = outcome()
        if (now != null) return take(now)
        return suspendCancellableCoroutine { c -> waiter = c }
    }

    private fun outcome(): Int? = if (available) BYTES else if (ended) END else if (cancelled) CANCELLED else null

    /** A read's outcome; bytes are taken, all of them. */
    private fun take(r: Int): Int {
        if (r == BYTES) available = false
        return r
    }

    fun arrive() {
        available = true
        wake()
    }

    fun close() {
        ended = true
        wake()
    }

    fun cancel() {
        cancelled = true
        wake()
    }

    private fun wake() {
        val w = waiter ?: return
        waiter = null
        w.resume(take(outcome()!!))
    }
}
