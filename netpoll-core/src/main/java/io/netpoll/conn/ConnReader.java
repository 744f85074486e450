package io.netpoll.conn;

import io.netpoll.buffer.LinkBuffer;
import io.netpoll.buffer.Reader;
import io.netpoll.error.ConcurrentAccessException;
import io.netpoll.error.EofException;
import io.netpoll.error.LimitExceededException;
import io.netpoll.error.ReadTimeoutException;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.Poller;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;

/**
 * A connection's {@link Reader}: the input {@link LinkBuffer}'s calls, each first waiting (on a
 * non-poller thread) until the bytes it needs are there. See {@link io.netpoll.Connection} for what a
 * wait ends with.
 */
final class ConnReader implements Reader {
    private final NetConnection c;
    private final LinkBuffer in;
    /** False for the buffered view: serve what is there, never wait. */
    private final boolean waits;

    ConnReader(NetConnection c, boolean waits) {
        this.c = c;
        this.in = c.input;
        this.waits = waits;
    }

    /**
     * Waits until {@code n} bytes are readable: Go's wait loop on {@code pd.rg}, bounded by the read
     * deadline (also one moved meanwhile) and the wait's start plus the read timeout.
     */
    void await(int n) throws IOException {
        if (n < 0) {
            throw new IllegalArgumentException("negative size: " + n);
        }
        if (in.len() >= n || !waits) {
            return; // the buffer itself throws EofException if the bytes are not there
        }
        if (Poller.current() != null) {
            // what a wait would end with at once comes first: an inline handler reading past the end
            // gets the end (EofException, the reset) or the closed error, as on any other thread
            if (settled(n)) {
                return; // another poller's connection: its bytes came just now
            }
            throw new IllegalStateException("a read of " + n + " bytes with " + in.len()
                    + " buffered would block a poller thread; check len() and return (onRequest runs again"
                    + " when more input arrives), or run handlers on an executor");
        }
        PollDesc pd = c.pd;
        c.beginReadWait(n);
        try {
            for (;;) {
                if (settled(n)) {
                    return;
                }
                int err = pd.check(PollDesc.READ);
                if (err == PollDesc.ERR_TIMEOUT) {
                    throw new ReadTimeoutException();
                }
                if (err == PollDesc.ERR_CLOSING) {
                    throw c.closedError();
                }
                try {
                    pd.block(PollDesc.READ);
                } catch (IllegalStateException doubleWait) {
                    throw new ConcurrentAccessException();
                }
            }
        } finally {
            c.endReadWait();
        }
    }

    /**
     * The read contract's order, as the coroutine reads' InputWait: closed first (a close while the
     * bytes came takes them), then the bytes, then the end of input. True when {@code n} bytes are
     * there; throws the closed error or the end (the reset, else EofException); false: wait.
     */
    private boolean settled(int n) throws IOException {
        if (!c.isActive()) {
            throw c.closedError();
        }
        if (in.len() >= n) {
            return true;
        }
        if (c.inputEof()) {
            if (in.len() >= n) {
                return true; // the last bytes came with the end
            }
            IOException reset = c.endOfInputError(); // the end came with a reset: closes
            throw reset != null ? reset : new EofException();
        }
        return false;
    }

    @Override
    public ByteBuffer next(int n) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(n);
            return in.next(n);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public ByteBuffer peek(int n) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(n);
            return in.peek(n);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public void skip(int n) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(n);
            in.skip(n);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public ByteBuffer until(byte delim) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            int from = 0;
            for (;;) {
                // the poller appends meanwhile: only the bytes there before the search are known to
                // hold no delimiter (len() after it may count one the search never saw)
                int searched = in.len();
                int i = in.indexOf(delim, from);
                if (i >= 0) {
                    return in.next(i + 1);
                }
                from = searched;
                if (!waits) {
                    throw new EofException(from + 1, from);
                }
                int limit = c.config.maxInputBytes();
                if (from >= limit) {
                    // no delimiter in a whole input cap: a peer must not make this buffer without bound
                    throw new LimitExceededException("input without the delimiter", limit);
                }
                await(from + 1);
            }
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public int indexOf(byte delim, int from) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            return in.indexOf(delim, from);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public byte peekByte(int offset) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            return in.peekByte(offset);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public int peekInt(int offset) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            return in.peekInt(offset);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public String readString(int n, Charset charset) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(n);
            return in.readString(n, charset);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public String readString(int n) throws IOException {
        return readString(n, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public byte[] readBinary(int n) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(n);
            return in.readBinary(n);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public byte readByte() throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(1);
            return in.readByte();
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public short readShort() throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(2);
            return in.readShort();
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public int readInt() throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(4);
            return in.readInt();
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public long readLong() throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(8);
            return in.readLong();
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public LinkBuffer slice(int n) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            await(n);
            return in.slice(n);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public void release() {
        int t = c.enterCall();
        if (t == NetConnection.NOT_ENTERED) {
            return;
        }
        try {
            in.release();
            c.consumedInput();
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public int len() {
        return c.inputLen();
    }
}
