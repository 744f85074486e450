package io.netpoll.coroutines

import io.netpoll.poll.PollDesc
import io.netpoll.poll.WaitWord
import io.netpoll.poll.Waiter
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlin.coroutines.coroutineContext
import kotlin.coroutines.resume

/**
 * A suspended coroutine parked in a [WaitWord] the general way (any dispatcher, any context): it is
 * both the waiter the unblocker resumes and the continuation's cancellation handler, which takes it
 * out of the word. One object per suspension, plus kotlinx's own per-suspension objects; the
 * common case, a coroutine on its connection's poller, uses [Parker]'s reusable [ParkSlot] instead.
 */
@PublishedApi
internal class ContinuationWaiter(
    private val word: WaitWord,
    private val cont: CancellableContinuation<Unit>,
) : Waiter, (Throwable?) -> Unit {
    override fun wake() {
        cont.resume(Unit)
    }

    /** Cancelled while parked: waiter → NIL, so nothing is left behind (lost to an unblock: its resume is ignored). */
    override fun invoke(cause: Throwable?) {
        word.cancel(this)
    }

    override fun toString(): String = "ContinuationWaiter($cont)"
}

/**
 * Go's `netpollblock` for a coroutine: returns at once if readiness was latched (READY consumed),
 * or if [check] reports an error; otherwise stores the continuation in the word (NIL → WAIT →
 * waiter) and suspends until an unblock resumes it (I/O readiness, deadline or close). The caller
 * then re-checks its condition.
 *
 * Cancellation removes the continuation from the word (waiter → NIL) so nothing is left behind; if
 * an unblock already took it, its resume is ignored and any readiness it latched stays for the next
 * waiter. A second waiter on the same word is a double wait: [IllegalStateException].
 * With a [parker] (a connection's read or send-room word), a coroutine on that connection's poller
 * parks in its reusable [ParkSlot]; any other, or with no parker, parks a [ContinuationWaiter].
 *
 * Inline, so that it adds no suspending frame (and no continuation object) of its own to the reads
 * and flushes that call it.
 */
internal suspend inline fun WaitWord.park(parker: Parker? = null, check: () -> Int) {
    if (prepare()) return
    if (check() != PollDesc.OK) {
        finish()
        return
    }
    // the reusable slot when the parker has one for this coroutine, else one waiter per suspension
    val slot = parker?.slotFor(coroutineContext)
    if (slot != null) slot.suspend() else suspendWithCancellableContinuation()
    finish()
}

/** [WaitWord.park] on the parker's own word. */
internal suspend inline fun Parker.park(check: () -> Int): Unit = word.park(this, check)

/** The general-purpose second half of [WaitWord.park], after NIL → WAIT: one [ContinuationWaiter] per suspension. Inline: no frame of its own. */
internal suspend inline fun WaitWord.suspendWithCancellableContinuation(): Unit = suspendCancellableCoroutine { cont ->
    val waiter = ContinuationWaiter(this, cont)
    if (!commit(waiter)) {
        // an unblock came between prepare and commit: do not suspend
        cont.resume(Unit)
    } else {
        cont.invokeOnCancellation(waiter)
    }
}
