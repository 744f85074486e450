package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.netpoll.modelChecking
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.annotations.Validate
import org.jetbrains.kotlinx.lincheck.check
import java.util.concurrent.atomic.AtomicInteger

/**
 * Model-checks a connection's lifetime word, [UsersWord], with Lincheck: calls enter and leave it
 * while closers close it, on three threads. Against [UsersWordModel] (a closed flag: a call gets in
 * until the close, and only the first close counts), and after every interleaving explored: the
 * word was destroyed exactly once if it was closed and never otherwise, never while a call was
 * inside, and every call that got in has left.
 */
class UsersWordLincheckTest : FunSpec({
    test("a closed connection is destroyed exactly once, by the last one out, and never under a call") {
        modelChecking()
            // the races that matter on every run: two closers and a call at once, and calls
            // entering and leaving around a close
            .addCustomScenario {
                parallel {
                    thread { actor(UsersWordOps::close) }
                    thread { actor(UsersWordOps::close) }
                    thread { actor(UsersWordOps::call) }
                }
            }
            .addCustomScenario {
                parallel {
                    thread { actor(UsersWordOps::call); actor(UsersWordOps::close) }
                    thread { actor(UsersWordOps::call); actor(UsersWordOps::call) }
                    thread { actor(UsersWordOps::close); actor(UsersWordOps::isOpen) }
                }
            }
            .sequentialSpecification(UsersWordModel::class.java)
            .actorsBefore(1)
            .actorsAfter(1)
            .check(UsersWordOps::class.java)
    }
})

/**
 * One connection's word. A call enters, does its work (here: checks that the connection was not
 * destroyed under it) and leaves; a close does what `ConnLifetime.closeWith` does with the word:
 * enter, mark it closed, leave.
 */
class UsersWordOps {
    private val inside = AtomicInteger()
    private val destroyed = AtomicInteger()
    @Volatile private var destroyedUnderCall = false

    private val word = object : UsersWord() {
        override fun destroy() {
            if (inside.get() != 0) destroyedUnderCall = true
            destroyed.incrementAndGet()
        }
    }

    /** An application call: true if it got in (the connection was still open). */
    @Operation
    fun call(): Boolean {
        if (!word.enter()) return false
        inside.incrementAndGet()
        if (destroyed.get() != 0) destroyedUnderCall = true
        inside.decrementAndGet()
        word.leave()
        return true
    }

    /** true for the close that closed it; false when the connection was closed already. */
    @Operation
    fun close(): Boolean {
        if (!word.enter()) return false
        val others = word.markClosed()
        word.leave()
        return others >= 0
    }

    @Operation
    fun isOpen(): Boolean = word.isActive

    @Validate
    fun destroyedOnceAfterTheLastCall() {
        check(!destroyedUnderCall) { "destroyed while a call was inside" }
        check(inside.get() == 0) { "${inside.get()} calls still inside" }
        val expected = if (word.isActive) 0 else 1
        check(destroyed.get() == expected) {
            "destroyed ${destroyed.get()} times, open=${word.isActive}"
        }
    }
}

/** The word's contract as plain sequential code: a call gets in until the close; only the first close counts. */
class UsersWordModel {
    private var closed = false

    fun call(): Boolean = !closed

    fun close(): Boolean {
        if (closed) return false
        closed = true
        return true
    }

    fun isOpen(): Boolean = !closed
}
