package io.netpoll.conn

import io.kotest.core.spec.style.FunSpec
import io.netpoll.error.ConcurrentAccessException
import io.netpoll.modelChecking
import io.netpoll.poll.WaitWord
import org.jetbrains.kotlinx.lincheck.annotations.Operation
import org.jetbrains.kotlinx.lincheck.annotations.Validate
import org.jetbrains.kotlinx.lincheck.check
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions
import java.io.IOException
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.reflect.KFunction

/**
 * Model-checks [SendWord], the protocol by which a connection's output reaches the socket, with
 * Lincheck, over a model socket: one application thread flushes (a connection has one flusher at a
 * time) and may ask for the output to be shut down once sent (`shutdownOutput`), the poller's thread
 * fills the socket and drains it (a drain is EPOLLOUT: it wakes the send task parked in `wg`) or
 * resets it (the next write fails, and so does every later one), and a third thread asks for a close
 * once everything is sent. After every interleaving explored, and a last drain: two writers never
 * wrote at once, every flushed message reached the socket exactly once and in order (a prefix of
 * them, if the connection closed or a write failed), nothing is left queued (unless a write failed)
 * or held, the word is idle, and a close or shutdown asked for happened, after everything flushed
 * before the request was written (a close: or a write failed; a shutdown: unless the connection
 * closed or a write failed first).
 */
class SendWordLincheckTest : FunSpec({
    test("flushed bytes reach the socket once and in order, one writer at a time, and nothing is stranded when the poller takes over") {
        modelChecking()
            // the races that matter on every run: a flush landing while the send task finishes,
            // writability arriving while the caller hands off, and a close-when-sent racing both
            .addCustomScenario {
                initial { actor(SendWordOps::fill) }
                parallel {
                    thread { actor(SendWordOps::flush); actor(SendWordOps::flush) }
                    thread { actor(SendWordOps::drain); actor(SendWordOps::fill); actor(SendWordOps::drain) }
                    thread { actor(SendWordOps::closeWhenSent) }
                }
            }
            .addCustomScenario {
                parallel {
                    thread { actor(SendWordOps::flush); actor(SendWordOps::flush); actor(SendWordOps::flush) }
                    thread { actor(SendWordOps::fill); actor(SendWordOps::drain) }
                }
            }
            .actorsBefore(1)
            .actorsAfter(1)
            .check(SendWordOps::class.java)
    }

    test("the tight races, explored deeper: a flush or a close-once-sent against the send task going idle") {
        modelChecking()
            .iterations(0)
            // two threads, one operation each: 5,000 interleavings reach the three and four
            // switches these races need (a caller and the send task both writing takes four)
            .invocationsPerIteration(5000)
            // the send task parked (the socket was full): a flush races its last write and its
            // going idle, where it must take the flush's bytes over or leave them to the flusher
            .race(parked = true, listOf(SendWordOps::flush), listOf(SendWordOps::drain))
            // a close once sent asked for while the caller (then the send task) finishes writing
            .race(parked = false, listOf(SendWordOps::flush), listOf(SendWordOps::closeWhenSent))
            .race(parked = true, listOf(SendWordOps::closeWhenSent), listOf(SendWordOps::drain))
            // the send task's write fails (the peer reset) while a close once sent is asked for:
            // nothing more will be sent, so one of the two must close
            .race(parked = true, listOf(SendWordOps::closeWhenSent), listOf(SendWordOps::reset))
            // a flush lands while the send task fails, then the close is asked for
            .race(parked = true, listOf(SendWordOps::flush, SendWordOps::closeWhenSent), listOf(SendWordOps::reset))
            // shutdownOutput on the poller thread: its flush leaves bytes to the parked send task, and
            // the shutdown must wait for them (and for bytes flushed after it asked)
            .race(parked = true, listOf(SendWordOps::shutdownWhenSent), listOf(SendWordOps::drain))
            .race(parked = true, listOf(SendWordOps::flush, SendWordOps::shutdownWhenSent), listOf(SendWordOps::drain))
            .race(parked = true, listOf(SendWordOps::shutdownWhenSent, SendWordOps::flush), listOf(SendWordOps::drain))
            .check(SendWordOps::class.java)
    }
})

/**
 * Adds a two-thread scenario: [first]'s operations race [second]'s, after a fill and a flush when
 * [parked] (the send task then waits in `wg` with bytes queued).
 */
private fun ModelCheckingOptions.race(
    parked: Boolean,
    first: List<KFunction<*>>,
    second: List<KFunction<*>>,
): ModelCheckingOptions =
    addCustomScenario {
        if (parked) {
            initial { actor(SendWordOps::fill); actor(SendWordOps::flush) }
        }
        parallel {
            thread { first.forEach { actor(it) } }
            thread { second.forEach { actor(it) } }
        }
    }

/**
 * One connection's send word over a model socket: a queue of published messages, a socket with
 * room for some number of them (none after a fill, one after a drain, so that it fills up again by
 * itself, everything in the end), and the connection's close (what `conn.close()` does to the
 * send task: the poll descriptor closes and `wg` is unblocked without readiness).
 */
class SendWordOps {
    private val published = ArrayList<Int>() // the application thread's own record
    private val queue = ConcurrentLinkedQueue<Int>()
    private val socket = ArrayList<Int>() // written only by the sender of the moment
    private val wait = WaitWord()
    private val writers = AtomicInteger()
    private val holds = AtomicInteger()
    private val publishedCount = AtomicInteger()
    private val written = AtomicInteger()
    private val closing = AtomicBoolean()
    /** Messages the socket takes before it is full (written only by the sender of the moment and the poller). */
    @Volatile private var room = Int.MAX_VALUE
    @Volatile private var closed = false
    @Volatile private var overlapped = false
    @Volatile private var concurrentFlush = false
    /** The peer reset: the next write fails. */
    @Volatile private var broken = false
    /** A write failed (the sender's `sendError`): every later one fails too, discarding the queue. */
    @Volatile private var failed = false
    /** Messages published before the first request to close once sent (MAX_VALUE: none asked). */
    private val closeAsked = AtomicInteger(Int.MAX_VALUE)
    @Volatile private var writtenAtClose = -1
    /** Messages published before the request to shut the output down once sent (MAX_VALUE: none). */
    @Volatile private var shutAsked = Int.MAX_VALUE
    /** The socket's sending side is shut down: a later write fails (EPIPE), ending the output. */
    private val shut = AtomicBoolean()
    @Volatile private var writtenAtShut = -1

    private val word = object : SendWord() {
        override fun writeOut(onPoller: Boolean): Int {
            if (writers.incrementAndGet() != 1) overlapped = true
            try {
                if (failed) fail()
                while (true) {
                    val x = queue.peek() ?: return DONE
                    if (broken) {
                        failed = true
                        fail()
                    }
                    if (closed) throw IOException("closed") // a write after close(2) fails
                    if (shut.get()) {
                        failed = true // a write after shutdown(SHUT_WR): EPIPE, the output is over
                        fail()
                    }
                    if (room <= 0) return FULL
                    room--
                    socket.add(x)
                    written.incrementAndGet()
                    queue.poll() // as the output buffer: skipped once the kernel has the bytes
                }
            } finally {
                writers.decrementAndGet()
            }
        }

        /** As the sender: a failed write discards what is queued, and throws. */
        private fun fail(): Nothing {
            queue.clear()
            throw IOException("reset")
        }

        override fun outputFailed(): Boolean = failed
        override fun publish() {} // flush() below queues each message whole
        override fun withinLimit(): Boolean = true // no write-queue limit: a flush never waits for room
        override fun pauseReading() = throw AssertionError("paused with no write-queue limit")
        override fun queued(): Long = if (queue.isEmpty()) 0 else queue.size.toLong()
        override fun wg(): WaitWord = wait

        override fun hold(): Boolean {
            if (closed) return false
            holds.incrementAndGet()
            return true
        }

        override fun unhold() {
            holds.decrementAndGet()
        }

        override fun active(): Boolean = !closed
        override fun closing(): Boolean = closed
        override fun onPollerThread(): Boolean = true // only the poller's drain signals writability
        override fun runOnPoller(task: Runnable) = throw AssertionError("the send task ran off its poller")
        override fun progressed(done: Boolean) {}
        override fun sendFailed() {}

        override fun shutdownNow() {
            if (shut.compareAndSet(false, true)) writtenAtShut = written.get() // idempotent, as shutdown(2)
        }

        override fun closeNow() {
            if (!closing.compareAndSet(false, true)) return // closing is idempotent
            writtenAtClose = written.get()
            closed = true
            wait.unblockAndWake(false)
        }
    }

    /** The application publishes one message and flushes. */
    @Operation(nonParallelGroup = "application")
    fun flush() {
        val x = published.size
        published.add(x)
        queue.add(x)
        publishedCount.incrementAndGet()
        try {
            word.send(false)
        } catch (e: ConcurrentAccessException) {
            concurrentFlush = true
        } catch (e: IOException) {
            // the connection closed under the flush: its bytes die with it
        }
    }

    /** The socket's send buffer fills up: writes stop short. */
    @Operation(nonParallelGroup = "poller")
    fun fill() {
        room = 0
    }

    /**
     * The peer reads a little: the socket takes one more message (then it is full again, so a flush
     * racing the send task can fill it and hand off a second time), and EPOLLOUT wakes the send task.
     */
    @Operation(nonParallelGroup = "poller")
    fun drain() {
        room = 1
        wait.unblockAndWake(true)
    }

    /** The peer resets: the next write fails, and EPOLLERR wakes the send task. */
    @Operation(nonParallelGroup = "poller")
    fun reset() {
        broken = true
        wait.unblockAndWake(true)
    }

    /** Close once everything flushed so far is written (a connection's `closeWhenSent`). */
    @Operation
    fun closeWhenSent() {
        val before = publishedCount.get() // counted messages were published before this request
        closeAsked.accumulateAndGet(before) { a, b -> minOf(a, b) }
        word.closeWhenSent()
    }

    /** The application shuts its output down once what it flushed is written (`shutdownOutput`). */
    @Operation(nonParallelGroup = "application")
    fun shutdownWhenSent() {
        if (shutAsked == Int.MAX_VALUE) shutAsked = publishedCount.get()
        word.shutdownWhenSent()
    }

    @Validate
    fun sentOnceInOrderNothingStranded() {
        room = Int.MAX_VALUE // the peer reads everything in the end
        wait.unblockAndWake(true)
        check(!overlapped) { "two writers wrote at once" }
        check(!concurrentFlush) { "a lone flusher was told another flush was running" }
        check(word.sendIdle()) { "the word is not idle after the last drain" }
        check(holds.get() == 0) { "${holds.get()} holds on the connection left" }
        check(socket == published.subList(0, socket.size)) { "socket got $socket for $published" }
        if (!closed && !failed) {
            check(queue.isEmpty()) { "${queue.size} messages stranded in the queue" }
            check(socket.size == published.size) { "socket got $socket for $published" }
        }
        val asked = closeAsked.get()
        if (asked != Int.MAX_VALUE) {
            check(closed) { "a close once sent was asked for and never happened" }
            // a failed write ends the sending: the close comes with what was written by then
            check(failed || writtenAtClose >= asked) { "closed with $writtenAtClose written, $asked flushed before the request" }
        }
        val shutAt = shutAsked
        if (shut.get()) {
            check(writtenAtShut >= shutAt) { "shut down with $writtenAtShut written, $shutAt flushed before the request" }
        } else if (shutAt != Int.MAX_VALUE) {
            // only a close or a failed write excuse a shutdown asked for and never made
            check(closed || failed) { "a shutdown once sent was asked for and never happened" }
        }
    }
}
