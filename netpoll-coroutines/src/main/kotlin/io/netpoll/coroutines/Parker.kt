package io.netpoll.coroutines

import io.netpoll.error.ConcurrentAccessException
import io.netpoll.poll.WaitWord
import io.netpoll.poll.Waiter
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.DisposableHandle
import kotlinx.coroutines.InternalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.ThreadContextElement
import kotlin.coroutines.Continuation
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.intrinsics.COROUTINE_SUSPENDED
import kotlin.coroutines.intrinsics.suspendCoroutineUninterceptedOrReturn
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/**
 * Parks coroutines in one [WaitWord] of one connection (its read word, or its send-room word) with
 * no allocation per suspension in the common case: a coroutine running on the connection's own
 * poller thread, dispatched by that poller's [PollerDispatcher], with no [ThreadContextElement] in
 * its context (kotlinx's debug-mode coroutine id aside). Such a coroutine parks its raw
 * continuation in a [ParkSlot] made once per coroutine context (in practice once per handler) and
 * reused by every later wait; the poller resumes it in
 * place, with no dispatch, no `CancellableContinuation`, no job-child node per wait. Any other
 * coroutine parks through `suspendCancellableCoroutine` ([WaitWord.suspendWithCancellableContinuation]).
 *
 * Used by one waiting coroutine at a time (the word rejects a second: a double wait), from its
 * poller thread; [dispose] from any thread.
 */
internal class Parker(
    @JvmField val word: WaitWord,
    @JvmField val dispatcher: PollerDispatcher,
    /** What [ParkSlot.awaitBytes] waits for; `null` for a parker that only [park]s. */
    @JvmField val bytes: ByteWait? = null,
) {
    /** The context [slot] was made for; `null` before the first wait. Poller thread only. */
    private var slotContext: CoroutineContext? = null

    /** The slot for [slotContext], or `null` when that context must take the general path. */
    @Volatile
    private var slot: ParkSlot? = null

    /**
     * The reusable slot for a coroutine in [context] about to park, or `null` when it must take the
     * general path (another dispatcher, a thread-context element, not on the poller thread).
     */
    fun slotFor(context: CoroutineContext): ParkSlot? {
        if (context === slotContext) {
            return if (dispatcher.poller.inEventLoop()) slot else null
        }
        if (!dispatcher.poller.inEventLoop()) return null
        // another coroutine is parked here: the general path reports the double wait, and its slot
        // (with the hook that cancels it) stays. Not WAIT: park() asks with the caller's own WAIT
        // published (and another coroutine cannot run on this thread between a prepare and its commit)
        if (word.hasParkedWaiter()) return null
        return attach(context)
    }

    /**
     * Makes the slot for [context] now, as [slotFor] would at the first wait, so that [slotFor]'s
     * compiled code only ever meets the context it already has (a handler calls this as it starts;
     * a context that first shows up in [slotFor] would make the JIT throw that code away and
     * compile it again). Does nothing off the poller thread or when the slot is already made.
     */
    fun prepare(context: CoroutineContext) {
        if (context !== slotContext && dispatcher.poller.inEventLoop()) attach(context)
    }

    /** Poller thread: the slot for [context], replacing the one made for another context. */
    private fun attach(context: CoroutineContext): ParkSlot? {
        slot?.dispose()
        slotContext = context
        val fast = context[ContinuationInterceptor] === dispatcher &&
            context.fold(true) { ok, element -> ok && (element !is ThreadContextElement<*> || element.isDebugCoroutineId()) }
        val s = if (fast) PollerParkSlot(this, context[Job]) else null
        slot = s
        s?.register()
        return s
    }

    /** Drops the slot's registration with its job (the connection closed); a later wait makes a new one. */
    fun dispose() {
        slot?.dispose()
    }
}

/**
 * The condition a [ParkSlot.awaitBytes] waits for, evaluated by the slot itself wherever the word
 * is unblocked, so that an unmet condition re-parks without resuming the coroutine.
 */
internal interface ByteWait {
    /** `true` ([n] bytes buffered), `false` (end of input first), a [Throwable] to resume with, or [PENDING]. Any thread. */
    fun outcome(n: Int): Any

    /** The reader is about to park for [n] bytes (it may need more than the input cap). */
    fun waiting(n: Int)

    /** The wait for bytes ended (not called once the connection closed). */
    fun done()

    companion object {
        /** [outcome]: not yet, keep waiting. */
        @JvmField val PENDING: Any = Any()
    }
}

/**
 * kotlinx.coroutines' debug-mode element (on with `-ea` or `-Dkotlinx.coroutines.debug`), which only
 * appends the coroutine's id to the thread name while it runs: a coroutine resumed in place by the
 * poller keeps the fast path and the poller thread keeps its own name. Every other
 * [ThreadContextElement] (MDC and the like) takes the general path, which applies it.
 */
private fun ThreadContextElement<*>.isDebugCoroutineId(): Boolean = javaClass.name == "kotlinx.coroutines.CoroutineId"

/**
 * One coroutine context's parking place in a [Parker]'s word: the [Waiter] the word holds while the
 * coroutine is parked, and the cancellation hook registered once with that context's job.
 *
 * Two kinds of wait: [suspend] (resumed with `Unit` on any unblock; the caller re-checks) and
 * [awaitBytes] (the slot re-checks its [ByteWait] on each unblock and only resumes the caller with
 * the outcome: no suspending frame, no loop in the coroutine).
 *
 * State (besides the word's own): [cont] is the parked continuation, set by the parking coroutine
 * before its commit (the word's CAS publishes it) and taken (set back to null) by whoever moved the
 * word off this slot: the unblocker in [wake], or [invoke] after its cancel CAS. [need] is the
 * byte count of an [awaitBytes] wait, or [PLAIN] for a [suspend] wait, written with [cont]. [cancelling] goes
 * null → the cancellation exception once, when the job starts cancelling (any thread); the parking
 * coroutine checks it after committing, so a cancellation that lands between its checks and its commit is not lost.
 *
 * The word, the byte condition and how to reach the poller thread come from the subclass:
 * [PollerParkSlot] (a [Parker]'s, the only one in production), or a model in the Lincheck test,
 * which checks this protocol without a poller thread.
 */
internal abstract class ParkSlot(
    private val job: Job?,
) : Waiter, (Throwable?) -> Unit {
    /** The word this slot parks in. */
    protected abstract val word: WaitWord

    /** What [awaitBytes] waits for; `null` for a slot that only [suspend]s. */
    protected abstract val bytes: ByteWait?

    /** Resumes [c] with [value] (a [Throwable]: with that exception) on the poller thread, in place when on it. */
    protected abstract fun resumeOnPoller(c: Continuation<Any?>, value: Any)

    /** Runs [task] on the poller thread, later. */
    protected abstract fun runOnPoller(task: Runnable)

    private var cont: Continuation<Any?>? = null

    private var need: Int = PLAIN

    /** Null until the job starts cancelling, then what a parked or later wait resumes with. */
    @Volatile
    private var cancelling: CancellationException? = null

    @Volatile
    private var handle: DisposableHandle? = null

    @OptIn(InternalCoroutinesApi::class)
    fun register() {
        // onCancelling: the hook must run while the coroutine is still parked, before the job can complete
        handle = job?.invokeOnCompletion(onCancelling = true, invokeImmediately = true, handler = this)
    }

    fun dispose() {
        handle?.dispose()
    }

    /** Parks the caller's continuation here (WAIT → this slot) or returns at once; see the class comment. */
    suspend fun suspend(): Unit = suspendCoroutineUninterceptedOrReturn { c ->
        val word = this.word
        @Suppress("UNCHECKED_CAST")
        cont = c as Continuation<Any?>
        need = PLAIN
        if (!word.commit(this)) {
            cont = null // an unblock came between prepare and commit: do not suspend
            return@suspendCoroutineUninterceptedOrReturn Unit
        }
        val cancelled = cancelling
        if (cancelled != null && word.cancel(this)) {
            cont = null
            throw cancelled
        }
        COROUTINE_SUSPENDED
    }

    /**
     * Returns `true` once [n] bytes are buffered, `false` at the end of input with fewer; throws the
     * [ByteWait]'s error (closed, deadline, a concurrent reader) or the job's cancellation. Suspends
     * at most once, however many unblocks it takes: the slot re-parks itself until the outcome is known.
     */
    suspend fun awaitBytes(n: Int): Boolean = suspendCoroutineUninterceptedOrReturn { c ->
        @Suppress("UNCHECKED_CAST")
        val r = parkOrSettle(n, c as Continuation<Any?>, false)
        if (r is Throwable) throw r
        r
    }

    /**
     * One [awaitBytes] attempt, by the coroutine ([registered] false) or by [wake] re-parking it
     * (true: [ByteWait.waiting] was called): the outcome if known (a [Throwable] is returned, not
     * thrown), else [c] parked here and [COROUTINE_SUSPENDED].
     */
    private fun parkOrSettle(n: Int, c: Continuation<Any?>, registered: Boolean): Any {
        val word = this.word
        val wait = bytes ?: throw IllegalStateException("awaitBytes on a parker with no ByteWait")
        var waiting = registered
        var r: Any
        while (true) {
            // the word first: READY (readiness latched, e.g. by the unblock that woke us) is consumed
            // here, NIL becomes WAIT; then the input, so nothing that comes after the look is missed
            val latched = try {
                word.prepare()
            } catch (e: IllegalStateException) {
                r = ConcurrentAccessException() // another reader waits in the word
                break
            }
            r = wait.outcome(n)
            if (latched) {
                if (r !== ByteWait.PENDING) break
                continue // the readiness was for bytes still short of n: wait again
            }
            if (r !== ByteWait.PENDING) {
                word.finish() // WAIT → NIL: decided without parking
                break
            }
            if (!waiting) {
                wait.waiting(n)
                waiting = true
            }
            need = n
            cont = c
            if (!word.commit(this)) {
                cont = null // an unblock came between prepare and commit
                word.finish()
                continue
            }
            val cancelled = cancelling ?: return COROUTINE_SUSPENDED
            if (!word.cancel(this)) return COROUTINE_SUSPENDED // an unblock has it: wake decides
            cont = null
            r = cancelled
            break
        }
        if (waiting) wait.done()
        return r
    }

    /** An unblock took this slot out of the word: resume the coroutine on its poller (a byte wait only once its outcome is known). */
    override fun wake() {
        val c = cont ?: throw IllegalStateException("woken with no parked continuation")
        cont = null
        if (need == PLAIN) {
            resumeOnPoller(c, Unit)
            return
        }
        val r = parkOrSettle(need, c, true)
        if (r !== COROUTINE_SUSPENDED) resumeOnPoller(c, r)
    }

    /** The job's cancellation hook: take a parked coroutine out of the word and resume it with the job's cancellation. */
    override fun invoke(cause: Throwable?) {
        if (cause == null) return // completed normally: nothing parked under it any more
        val e = cause as? CancellationException ?: CancellationException("job failed", cause)
        cancelling = e
        if (word.cancel(this)) {
            val c = cont ?: throw IllegalStateException("cancelled with no parked continuation")
            cont = null
            // the wait ends here, before the resume: done() run later could undo a next wait's waiting(n)
            if (need != PLAIN) bytes?.done()
            runOnPoller { c.resumeWithException(e) }
        }
    }

    private companion object {
        /** [need] of a [suspend] wait. */
        const val PLAIN = -1
    }

    override fun toString(): String = "ParkSlot($job)"
}

/** The production [ParkSlot]: a [Parker]'s word and byte condition, resumed by its [PollerDispatcher]. */
internal class PollerParkSlot(private val parker: Parker, job: Job?) : ParkSlot(job) {
    override val word: WaitWord get() = parker.word
    override val bytes: ByteWait? get() = parker.bytes

    override fun resumeOnPoller(c: Continuation<Any?>, value: Any) {
        parker.dispatcher.resumeHere(c, value)
    }

    override fun runOnPoller(task: Runnable) {
        parker.dispatcher.poller.execute(task)
    }
}

/**
 * Resumes [c] with [value] (a [Throwable]: with that exception) here when on the poller thread and
 * not already nested too deeply in resumptions (a coroutine resumed in place may itself wake
 * another, e.g. by closing its connection); otherwise queues it to the poller.
 */
internal fun PollerDispatcher.resumeHere(c: Continuation<Any?>, value: Any) {
    if (poller.inEventLoop() && nesting < PollerDispatcher.MAX_NESTING) {
        nesting++
        try {
            c.resumeWithValue(value)
        } finally {
            nesting--
        }
    } else {
        poller.execute { c.resumeWithValue(value) }
    }
}

/** Resumes with [value], or with it as the exception when it is a [Throwable]. */
private fun Continuation<Any?>.resumeWithValue(value: Any) {
    if (value is Throwable) resumeWithException(value) else resume(value)
}
