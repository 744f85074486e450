package io.netpoll.coroutines

import io.kotest.core.spec.style.FunSpec
import io.netpoll.poll.PollDesc
import io.netpoll.poll.WaitWord
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.suspendCancellableCoroutine
import org.jetbrains.kotlinx.lincheck.Actor
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.check
import kotlin.coroutines.Continuation
import kotlin.coroutines.resume

/**
 * Model-checks a coroutine parked in a [WaitWord] (`WaitWord.park`, Go's `netpollblock` for
 * coroutines, the general path that any dispatcher takes) with Lincheck: one coroutine waits, and is
 * cancelled while suspended in some runs, while readiness and timeouts unblock the word from other
 * threads. Against [CoParkModel] (a latch and at most one suspended waiter, written with plain
 * `suspendCancellableCoroutine`): a wait that consumes latched readiness returns at once, an unblock
 * resumes a parked wait exactly once, readiness that arrives for a waiter is consumed by it, and a
 * cancelled wait leaves nothing in the word (the next wait parks normally and readiness latches for it).
 *
 * The reusable slot that a coroutine on its own connection's poller parks in (`ParkSlot`) is
 * model-checked by [CoSlotLincheckTest].
 */
class CoParkLincheckTest : FunSpec({
    test("a parked coroutine is resumed once by an unblock, takes latched readiness, and leaves nothing when cancelled") {
        coModelChecking()
            // waits cancelled while suspended (the DSL of this Lincheck version cannot ask for that,
            // hence the Actor), followed by waits that must find the word clean
            .addCustomScenario {
                parallel {
                    thread { add(cancelledAwait()); actor(CoParkOps::await) }
                    thread { actor(CoParkOps::ready) }
                    thread { actor(CoParkOps::expire) }
                }
            }
            .addCustomScenario {
                parallel {
                    thread { add(cancelledAwait()); add(cancelledAwait()); actor(CoParkOps::await) }
                    thread { actor(CoParkOps::ready); actor(CoParkOps::ready) }
                    thread { actor(CoParkOps::expire) }
                }
            }
            .addCustomScenario {
                parallel {
                    thread { actor(CoParkOps::await); actor(CoParkOps::await) }
                    thread { actor(CoParkOps::ready) }
                    thread { actor(CoParkOps::expire) }
                }
            }
            .actorsBefore(1)
            .actorsAfter(1)
            .sequentialSpecification(CoParkModel::class.java)
            .check(CoParkOps::class.java)
    }
})

/** [CoParkOps.await], cancelled by Lincheck if it suspends. */
private fun cancelledAwait() = Actor(
    method = CoParkOps::class.java.getMethod("await", Continuation::class.java),
    arguments = emptyList(),
    cancelOnSuspension = true,
    isSuspendable = true,
)

/** One word; one coroutine waits in it at a time (`nonParallelGroup`), as on a connection. */
class CoParkOps {
    private val word = WaitWord()

    /** Parks until an unblock (or returns at once on latched readiness). */
    @Operation(cancellableOnSuspension = true, nonParallelGroup = "waiter")
    suspend fun await(): Int {
        word.park { PollDesc.OK }
        return 1
    }

    /** I/O readiness from the poller: wakes the waiter, or latches for the next one. */
    @Operation
    fun ready(): Unit = word.unblockAndWake(true)

    /** A deadline or a close: wakes the waiter, latches nothing. */
    @Operation
    fun expire(): Unit = word.unblockAndWake(false)
}

/** The contract as plain sequential code. */
class CoParkModel {
    private var latched = false
    private var waiter: CancellableContinuation<Unit>? = null

    suspend fun await(): Int {
        if (latched) {
            latched = false
            return 1
        }
        suspendCancellableCoroutine { c ->
            waiter = c
            c.invokeOnCancellation { waiter = null }
        }
        return 1
    }

    fun ready() {
        val w = waiter
        if (w == null) {
            latched = true
        } else {
            waiter = null
            w.resume(Unit)
        }
    }

    fun expire() {
        val w = waiter ?: return
        waiter = null
        w.resume(Unit)
    }
}
