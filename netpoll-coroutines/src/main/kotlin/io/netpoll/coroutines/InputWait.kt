package io.netpoll.coroutines

import io.netpoll.conn.NetConnection
import io.netpoll.error.ConcurrentAccessException
import io.netpoll.error.ReadTimeoutException
import io.netpoll.poll.PollDesc
import kotlinx.coroutines.CancellationException

/**
 * A read's wait for bytes, as both waits check it on each wake-up (the read parker's slot and the
 * general wait, [awaitInput]), in the order the read contract gives: the closed error once the
 * connection is closed, whatever is buffered; `true` when the bytes are buffered
 * (bytes that came before a peer's FIN or reset are read first); at the end of input, `false` after
 * a FIN, or after a reset the closed error caused by it (and the connection closes); then the
 * deadline and close flags of the poll descriptor.
 */
internal class InputWait(private val c: NetConnection) : ByteWait {
    override fun outcome(n: Int): Any =
        if (!c.isActive) {
            c.closedError()
        } else {
            bytesOutcome(n, { c.inputLen() }, { c.inputEof() }, { c.endOfInputError() ?: false }) {
                when (c.pollDesc().check(PollDesc.READ)) {
                    PollDesc.ERR_TIMEOUT -> ReadTimeoutException()
                    PollDesc.ERR_CLOSING -> c.closedError()
                    else -> ByteWait.PENDING
                }
            }
        }

    /**
     * The general wait for [n] bytes or EOF, for the reads that cannot wait in [parker]'s slot (a
     * per-wait read timeout, another dispatcher): a suspending frame, entered into the connection,
     * that loops over wake-ups in [parker] (whose [Parker.bytes] is this). It decides at once and
     * after each wake-up with [outcome], as the slot does, so both waits end alike: once the
     * connection is closed, with the closed error, never `true` over input that the close has taken
     * away.
     */
    suspend fun awaitInput(parker: Parker, n: Int): Boolean {
        c.enterOrThrow()
        try {
            val pd = c.pollDesc()
            c.beginReadWait(n)
            try {
                while (true) {
                    when (val r = outcome(n)) {
                        true -> return true
                        false -> return false
                        is Throwable -> throw r
                    }
                    try {
                        parker.park { pd.check(PollDesc.READ) }
                    } catch (e: CancellationException) {
                        throw e // an IllegalStateException too, but not a double wait
                    } catch (e: IllegalStateException) {
                        throw ConcurrentAccessException()
                    }
                }
            } finally {
                c.endReadWait()
            }
        } finally {
            c.leave()
        }
    }

    override fun waiting(n: Int) = needInput(n)

    override fun done() = needInput(0)

    /** Tells the connection how much the reader needs (it may read past its input cap for it); skipped once closed. */
    private fun needInput(n: Int) {
        val token = c.enterCall() // free inside the poller's read round, where a wake-up runs
        if (token == NetConnection.NOT_ENTERED) return
        try {
            c.needInput(n)
        } finally {
            c.leaveCall(token)
        }
    }
}

/**
 * The middle of [InputWait.outcome], over any input (the Lincheck test of [ParkSlot] runs it over a
 * model one): `true` when [n] bytes are buffered, else [atEnd] at the end of input (`false`, or the
 * error that ended it), else [otherwise]. It looks at the bytes again after seeing the end of input:
 * the poller appends the last bytes before it sets the flag, so bytes that came just before the FIN
 * are counted even when this runs off the poller thread while they come (the wake-up of a read
 * deadline moved into the past from another thread runs it there). [atEnd] runs only inside the end
 * of input's branch, so reads that find their bytes take no branch more than before it existed.
 */
internal inline fun bytesOutcome(
    n: Int,
    len: () -> Int,
    eof: () -> Boolean,
    atEnd: () -> Any,
    otherwise: () -> Any,
): Any = when {
    len() >= n -> true
    eof() -> if (len() >= n) true else atEnd()
    else -> otherwise()
}
