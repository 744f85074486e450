package io.netpoll.coroutines

import io.netpoll.conn.NetConnection
import io.netpoll.error.ReadTimeoutException
import io.netpoll.poll.PollDesc

/**
 * A read's wait for bytes, as the read parker's slot checks it on each wake-up, in the order the
 * read contract gives: the closed error once the connection is closed (locally, or by a reset),
 * whatever is buffered; `true` when the bytes are buffered (bytes that came before a peer's FIN are
 * read first); `false` at the end of input; then the deadline and close flags of the poll descriptor.
 */
internal class InputWait(private val c: NetConnection) : ByteWait {
    override fun outcome(n: Int): Any = when {
        !c.isActive -> c.closedError()
        c.inputLen() >= n -> true
        c.inputEof() -> false
        else -> when (c.pollDesc().check(PollDesc.READ)) {
            PollDesc.ERR_TIMEOUT -> ReadTimeoutException()
            PollDesc.ERR_CLOSING -> c.closedError()
            else -> ByteWait.PENDING
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
