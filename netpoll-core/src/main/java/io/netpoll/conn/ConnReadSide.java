package io.netpoll.conn;

import io.netpoll.error.ConcurrentAccessException;
import io.netpoll.error.ConnectionClosedException;
import io.netpoll.error.LimitExceededException;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.Poller;
import io.netpoll.sys.Errno;
import io.netpoll.sys.LibC;
import io.netpoll.sys.Linux;
import io.netpoll.sys.NativeBuffer;
import io.netpoll.sys.Sys;

import java.io.IOException;
import java.lang.invoke.VarHandle;

/**
 * The poller's side of {@link NetConnection}: its readiness events ({@link #onEvents}; EPOLLOUT wakes
 * the send parked in {@link PollDesc#wg}) and its reads into the input, with the pause and resume of
 * reading that the application's consumption drives. (The application's side of reading is
 * {@link ConnReader}.)
 *
 * <p><b>Reading.</b> On every EPOLLIN edge the poller {@code readv}s into freshly booked input
 * memory (sized by {@link ReadSizer}: 8 KiB at first, doubling while reads fill the booking, up to
 * 1 MiB, halving after two small reads in a row) until a read comes back
 * short (the socket is drained, and edge-triggering guarantees a new event for new bytes; but once an
 * event reported the peer's FIN or an error, until EAGAIN, EOF or the error, since no later edge will
 * announce them), then wakes
 * whoever waits in {@link PollDesc#rg} and triggers {@code onRequest}. It pauses while the input holds
 * {@link ConnConfig#maxInputBytes()} unread bytes, or while queued output is over the limit on a
 * connection whose handlers cannot wait, and resumes when the application catches up.
 *
 * <p><b>A peer's reset.</b> The kernel hands out the bytes that came before a reset first, then the
 * error. A read error that finds no unread input closes the connection at once. One that finds
 * unread input ends the input instead, as a FIN does, and keeps the error ({@link #inputError}): the
 * application reads the bytes, and the read that reaches their end closes the connection with the
 * error ({@link #endOfInputError}). A reset that comes while reading is paused on a full input is
 * read when reading resumes, behind the bytes the kernel still holds; one that comes while it is
 * paused on queued output fails the send task that the event wakes, which discards the queue and
 * resumes reading, so the reset is read behind the bytes too.
 *
 * <p><b>A failed write</b> ends the output but not the input ({@link #writeFailed}): the connection
 * closes at once only if the input has ended and nothing of it is left unread; otherwise reading goes
 * on, and the input's end closes the connection as above (after a FIN: the application, or the
 * handlers' end, as always). A write that met the peer's reset took the socket's error, so its reads
 * return the bytes left, then 0: the poller reads that end as the reset
 * ({@link Sender#resetTaken}), not as a FIN. When that 0 comes while a flushing thread is writing,
 * whose write may have taken the reset an instant before and not stored it yet, the poller decides
 * once that write settled ({@link #writerUnsettled}).
 *
 * <p>One link of {@link NetConnection}'s class chain (see there), after {@link ConnTimeouts}.
 */
public abstract sealed class ConnReadSide extends ConnTimeouts permits NetConnection {
    /** Reads per readiness event before yielding to other connections on the poller. */
    private static final int MAX_READ_ROUNDS = 16;

    /* pause bits (poller thread writes; app threads read): why reading stopped. */
    static final int PAUSE_INPUT_FULL = 1;
    static final int PAUSE_OUTPUT_FULL = 2;

    private final LibC libc = Sys.libc();
    /** The onConnect / onRequest processing that the reads trigger. */
    final RequestRunner runner;

    /*
     * The end of the peer's input: false → true once, by the poller, at the peer's FIN, or at a read
     * error (a reset) that found unread input.
     * inputError: null → that read error once, by the poller, written before inputEof (or the reset a
     * failed write took, when a read then returns 0). (After a FIN a read returns 0, never the error
     * of a reset that follows: that input ends with the FIN.)
     * inputErrorClosing: false → true by endOfInputError, which then queues the close; two readers at
     * the end at once may both queue it (closing is idempotent).
     */
    private volatile boolean inputEof;
    private volatile IOException inputError;
    private volatile boolean inputErrorClosing;
    volatile int pauseBits;
    /**
     * Bytes a blocked reader needs (0: any): reading goes on past the input cap up to this. Only a
     * value above the configured cap changes anything ({@link #inputCap}), so {@link #needInput} leaves
     * a value at or below it as it is.
     */
    volatile int waitSize;
    private volatile boolean resumeQueued;

    // poller thread only
    /** {@link ReadSizer}'s state: the next read's booking and the small reads before it. */
    private int readSize = ReadSizer.INITIAL;
    private boolean readPending;
    /*
     * A short read proves the socket drained only while the peer is still sending: once an event
     * reported its FIN or an error (EPOLLRDHUP/HUP/ERR), that edge may be the very one being handled
     * and no other will come, so reads go on until EAGAIN, EOF or the error. Set for good.
     */
    private boolean peerClosing;
    /* Set by adopt() until the first EAGAIN, EOF or error: the dialer consumed the earlier events. */
    boolean eventsUnknown;
    /*
     * A read returned 0 while a flushing thread owned the send (SendWord's CALLER): the write it was
     * in may have taken the peer's reset and not stored it yet, so that 0 may be the reset, not a FIN
     * (writerUnsettled). endWaiting: false → true at that first 0, for good (the end is decided once,
     * later); endMark: SendWord's settled count then; endRecheckArmed: true while a re-read is on the
     * timer wheel, false when it runs.
     */
    private boolean endWaiting;
    private int endMark;
    private boolean endRecheckArmed;
    /** Reads of the input's end that had to wait for a flushing thread's write (tests look at it). */
    volatile int endWaits;

    ConnReadSide(int fd, Poller poller, ConnConfig config, PollDesc registered) {
        super(fd, poller, config, registered);
        this.runner = new RequestRunner((NetConnection) this, config.onConnect(), config.onRequest());
    }

    // ------------------------------------------------------------------------------ poller side

    @Override
    public final void onEvents(PollDesc pd, int events) {
        if ((events & (Linux.EPOLLOUT | Linux.EPOLLERR | Linux.EPOLLHUP)) != 0) {
            pd.wg.unblockAndWake(true);
        }
        if ((events & (Linux.EPOLLRDHUP | Linux.EPOLLERR | Linux.EPOLLHUP)) != 0) {
            peerClosing = true;
        }
        if ((events & (Linux.EPOLLIN | Linux.EPOLLRDHUP | Linux.EPOLLERR | Linux.EPOLLHUP)) != 0) {
            readReady();
        }
    }

    @Override
    public final void onPollerClosed(PollDesc pd) {
        closeWith(new ConnectionClosedException());
    }

    /** Poller thread: the socket is readable (or was, while reading was paused). */
    final void readReady() {
        if (pauseBits != 0) {
            readPending = true;
            return;
        }
        readPending = false;
        if (!enter()) {
            return;
        }
        Thread outer = beginRound();
        try {
            readLoop();
        } finally {
            endRound(outer);
        }
    }

    private void readLoop() {
        NativeBuffer iov = poller.iovScratch();
        for (int round = 0; ; round++) {
            if (pauseBits != 0) {
                readPending = true; // an inline handler's flush left the queue over its limit
                return;
            }
            int cap = inputCap();
            if (input.len() >= cap) {
                pause(PAUSE_INPUT_FULL);
                // The application may have consumed between the check and the pause, and then not
                // seen the pause: look again, after a fence (the consumed count is a release store, its
                // read an acquire load); with the fence in consumedInput, one side sees the other.
                VarHandle.fullFence();
                if (input.len() >= inputCap()) {
                    readPending = true;
                    return;
                }
                pauseBits &= ~PAUSE_INPUT_FULL;
                continue;
            }
            int count = input.book(ReadSizer.size(readSize), iov.buffer(), Poller.IOV_SCRATCH_ENTRIES);
            long booked = 0;
            for (int i = 0; i < count; i++) {
                booked += iov.getLong(i * 16 + 8);
            }
            // one buffer (the usual case): read(2), which spares the kernel importing an iovec array
            long n = count == 1 ? libc.read(fd, iov.getLong(0), booked) : libc.readv(fd, iov.address(), count);
            if (n > 0) {
                input.bookAck((int) n);
                // the flush is a release store: order it before the handler pass's state read in
                // runner.trigger() below (PassWord), which a pass stores before it reads len(); without
                // it a pass could miss these bytes and leave them until the next edge (NodeChain.written)
                VarHandle.fullFence();
                if (idleTimeoutNanos > 0) {
                    lastActivity = poller.loopTime();
                }
                readSize = ReadSizer.record(readSize, booked, n);
                pd.rg.unblockAndWake(true);
                runner.trigger();
                if (n < booked && !peerClosing && !eventsUnknown) {
                    return; // drained: the next byte brings a new edge
                }
                if (round + 1 >= MAX_READ_ROUNDS) {
                    poller.execute(this::readReady); // let other connections on this poller run
                    return;
                }
            } else {
                input.bookAck(0);
                eventsUnknown = false;
                if (n == 0) {
                    if (inputEof || writerUnsettled()) {
                        return; // decided already, or to be decided once a flushing thread's write settled
                    }
                    IOException reset = sender.resetTaken(); // a write took the reset: this end is it
                    if (reset == null) {
                        peerFinished(null);
                    } else {
                        inputFailed(reset);
                    }
                } else if (n == -Errno.EINTR) {
                    continue; // a signal: read again
                } else if (n != -Errno.EAGAIN) {
                    inputFailed(Errno.exception("read", (int) -n));
                }
                return;
            }
        }
    }

    /**
     * Poller thread, at a read of 0 (the input's end, a FIN or a reset that a write took): true while
     * that end cannot be decided yet. That is while a flushing thread that owned the send at the first
     * such read still owns it and has not settled a write since: the write it was in may have taken the
     * reset and not stored it yet ({@link Sender#resetTaken}). It never blocks (a full socket hands
     * the send to the poller), so this ends within one of its {@code writeOut} calls; a re-read is
     * armed a timer tick later meanwhile (a FIN reads 0 again, and so does a taken reset), and any
     * read before it decides as well once the write settled. (The kernel orders the two system calls
     * on the socket's lock: a write that took the reset returned before this read returned 0, so that
     * write is the one in progress here, or it settled already and its error is visible.)
     */
    private boolean writerUnsettled() {
        int settled = sender.callerSettled(); // before the state: a write settles before it lets go
        if (!sender.callerOwns()) {
            return false;
        }
        if (!endWaiting) {
            endWaiting = true;
            endMark = settled;
        } else if (settled != endMark) {
            return false;
        }
        endWaits++;
        if (!endRecheckArmed) {
            endRecheckArmed = true;
            poller.schedule(System.nanoTime() + Poller.TICK_NANOS, () -> {
                endRecheckArmed = false;
                readReady();
            });
        }
        return true;
    }

    /** Poller thread: the input ended with {@code e}; the bytes before it are read first, if any. */
    private void inputFailed(IOException e) {
        if (input.len() > 0 && !inputEof) {
            peerFinished(e);
        } else {
            closeWith(e);
        }
    }

    /** Poller thread: the peer's input ended, by its FIN ({@code error} null) or by an error behind unread input. */
    private void peerFinished(IOException error) {
        if (inputEof) {
            return;
        }
        inputError = error;
        inputEof = true;
        pd.rg.unblockAndWake(true);
        runner.trigger();
        if (config.onRequest() == null && runner.handler() == null) {
            return; // the application owns the connection and decides when to close
        }
        runner.closeWhenDrained();
    }

    /** Poller thread: stop reading for {@code reason}. */
    final void pause(int reason) {
        pauseBits |= reason;
    }

    /** Poller thread: {@code reason} no longer holds; read what arrived meanwhile. */
    final void resume(int reason) {
        pauseBits &= ~reason;
        if (pauseBits == 0 && readPending) {
            readReady();
        }
    }

    /** Application thread: it consumed input; resume reading if it was paused for a full input. */
    public final void consumedInput() {
        if (!poller.inEventLoop()) {
            // the bytes consumed (a release store in the buffer) before the pause is read: pairs with
            // the poller's re-check after pausing in readLoop, so a pause is never missed by both
            VarHandle.fullFence();
        }
        if ((pauseBits & PAUSE_INPUT_FULL) != 0 && !resumeQueued
                && input.len() < inputCap()) {
            resumeQueued = true;
            Runnable r = () -> {
                resumeQueued = false;
                if (inputLen() < inputCap()) {
                    resume(PAUSE_INPUT_FULL);
                }
            };
            if (poller.inEventLoop()) {
                r.run();
            } else {
                poller.execute(r);
            }
        }
    }

    /**
     * The most unread input there can be: a buffer holds at most {@code Integer.MAX_VALUE} readable
     * bytes, and reading goes on while below the cap by up to one booking.
     */
    private static final int MAX_CAP = Integer.MAX_VALUE - ReadSizer.MAX;

    /** Unread input at which reading pauses: maxInputBytes, or more while a reader needs more. */
    final int inputCap() {
        return Math.min(Math.max(config.maxInputBytes(), waitSize), MAX_CAP);
    }

    /**
     * Application thread: a read begins to wait for {@code n} bytes, bounded by the read deadline and
     * its own read timeout until {@link #endReadWait}. One such wait at a time: a second one gets the
     * closed error once the connection is closed, else {@link ConcurrentAccessException}, before it
     * changes anything of the first's. (The coroutine reads' slot wait, which has no bound of its
     * own, does not take part: it only sets {@link #needInput}.)
     */
    public final void beginReadWait(int n) throws IOException {
        if (n > MAX_CAP) {
            // reading pauses before that much is unread: the wait could never end
            throw new LimitExceededException("a read", MAX_CAP);
        }
        if (!claimReadWait()) {
            if (!isActive()) {
                throw closedError();
            }
            throw new ConcurrentAccessException();
        }
        try {
            needInput(n);
        } catch (Throwable e) {
            releaseReadWait();
            throw e;
        }
    }

    /** Ends the wait {@link #beginReadWait} began (its bytes came, or it failed). */
    public final void endReadWait() {
        if (waitSize != 0) {
            waitSize = 0;
        }
        releaseReadWait();
    }

    /** Application thread: a reader now needs {@code n} bytes, maybe past the input cap; 0 when done waiting. */
    public final void needInput(int n) {
        int cap = config.maxInputBytes();
        // the usual wait needs less than the cap: skip the volatile store (a fence on x86), which a
        // coroutine read would otherwise pay twice per wait, when it cannot change inputCap()
        if (n > cap || waitSize > cap) {
            waitSize = n;
        }
        // a reader about to wait resumes a paused input that is below the cap now: consumed meanwhile
        // (copying reads release nothing) or needed past the cap
        consumedInput();
    }

    /**
     * Any thread, after a write failed with {@code error} (the output is over, its queue discarded):
     * closes the connection with it when no input is left to read (the input ended and all of it was
     * read). Otherwise the input stays readable: the poller reads on to its end (a reset reaches it
     * behind the bytes before it), which closes the connection as any end of input does.
     */
    final void writeFailed(IOException error) {
        if (inputEof && inputLen() == 0) {
            closeWith(error);
        }
    }

    /**
     * True once the peer's input ended: the poller read its FIN, or a reset behind unread input
     * ({@link #inputError()}).
     */
    public final boolean inputEof() {
        return inputEof;
    }

    /** The reset (or other read error) that ended the input behind unread bytes, or null. */
    public final IOException inputError() {
        return inputError;
    }

    /**
     * Any thread, for a read that found the end of input with fewer bytes than it needs: null after
     * the peer's FIN (the read reports the end of input), else the closed error caused by the reset
     * that came behind the bytes, and the connection closes with that cause (on the poller, later: a
     * caller may be inside a wake-up of this connection's read word).
     */
    public final ConnectionClosedException endOfInputError() {
        IOException e = inputError;
        if (e == null) {
            return null;
        }
        if (!inputErrorClosing) {
            inputErrorClosing = true;
            poller.execute(() -> closeWith(e));
        }
        return new ConnectionClosedException(e);
    }
}
