package io.netpoll.conn;

/**
 * How much input memory a connection books for its next kernel read. Starts at {@link #INITIAL},
 * doubles (up to {@link #MAX}) when a read fills what was booked, and halves (down to {@link #MIN})
 * only after {@link #SHRINK_AFTER} reads in a row came back under an eighth of their booking.
 *
 * <p>One small read alone does not shrink it: a burst a little larger than the booking (16 pipelined
 * 1 KiB frames against 16 KiB) fills one read and leaves a small tail for the next; halving on that
 * tail made the size swing between 16 and 32 KiB and cost an extra {@code read} on every other burst
 * (11% more reads than Netty's in the pipelined echo benchmark). Shrinking matters for memory: a
 * partly filled chunk stays in the input until the application consumes it.
 *
 * <p>The state is one {@code int} kept by the connection (no object per connection): the size, a
 * multiple of 4 KiB, in the high bits and the count of small reads in a row in the low 12.
 */
final class ReadSizer {
    static final int MIN = 4 << 10;
    static final int INITIAL = 8 << 10;
    static final int MAX = 1 << 20;
    /** Consecutive small reads before the booking halves. */
    static final int SHRINK_AFTER = 2;
    private static final int COUNT = MIN - 1;

    private ReadSizer() {}

    /** Bytes to book for the next read. */
    static int size(int state) {
        return state & ~COUNT;
    }

    /** The state after a read of {@code n > 0} bytes into a booking of {@code booked} bytes. */
    static int record(int state, long booked, long n) {
        int size = size(state);
        if (n >= booked) {
            return Math.min(MAX, size * 2);
        }
        if (n >= booked / 8) {
            return size;
        }
        int small = (state & COUNT) + 1;
        return small >= SHRINK_AFTER ? Math.max(MIN, size / 2) : size | small;
    }
}
