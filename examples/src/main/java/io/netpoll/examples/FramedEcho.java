package io.netpoll.examples;

import io.netpoll.Connection;
import io.netpoll.EventLoop;
import io.netpoll.HandlerExecutors;
import io.netpoll.Listener;
import io.netpoll.buffer.Reader;
import io.netpoll.conn.ConnConfig;

import java.io.IOException;

/**
 * The framed echo server (4-byte big-endian length + payload, the protocol of netpoll's benchmark
 * client and of {@code shared/bench/echo-load.c}) on the Java callback API, with inline handlers: the
 * poller that reads a frame echoes it, zero-copy (the frame's memory is appended to the output).
 * A length over the maximum (default 16 MiB, {@code -Dframed.maxFrame=N}) closes the connection
 * with a logged reason.
 *
 * <pre>java -jar examples/target/netpoll-examples.jar framed-echo 7300</pre>
 */
public final class FramedEcho {
    private static final System.Logger LOG = System.getLogger("io.netpoll.examples");

    private final int maxFrame;

    public FramedEcho(int maxFrame) {
        this.maxFrame = maxFrame;
    }

    /** {@link #frameSize}: the input does not hold a whole frame yet. */
    public static final int NEED_MORE = -1;
    /** {@link #frameSize}: the frame's length is negative or over the maximum. */
    public static final int BAD_LENGTH = -2;

    /**
     * The framing, apart from sockets: the size (4 + payload) of the frame at the start of {@code in}
     * when all of it is buffered, {@link #NEED_MORE} when it is not, {@link #BAD_LENGTH} when its length
     * is outside {@code 0..maxFrame}. Consumes nothing and never asks for more than {@code in.len()}.
     * Deciding never needs more than {@code 4 + maxFrame} buffered bytes.
     */
    public static int frameSize(Reader in, int maxFrame) throws IOException {
        if (in.len() < 4) {
            return NEED_MORE;
        }
        int n = in.peekInt(0);
        if (n < 0 || n > maxFrame) {
            return BAD_LENGTH;
        }
        return in.len() - 4 >= n ? 4 + n : NEED_MORE;
    }

    /** The last length {@link #frameSize} refused, for the log. */
    private static int badLength(Reader in) throws IOException {
        return in.peekInt(0);
    }

    /** Echoes every complete frame in the input; leaves a partial one for the next call. */
    public void onRequest(Connection c) throws IOException {
        Reader in = c.reader();
        boolean wrote = false;
        for (;;) {
            int size = frameSize(in, maxFrame);
            if (size == BAD_LENGTH) {
                LOG.log(System.Logger.Level.WARNING, "closing " + c.remoteAddress() + ": frame length " + badLength(in)
                        + " outside 0.." + maxFrame);
                in.release();
                if (wrote) {
                    c.writer().flush(); // the frames before the bad one are still answered
                }
                c.close();
                return;
            }
            if (size == NEED_MORE) {
                break;
            }
            c.writer().append(in.slice(size));
            wrote = true;
        }
        in.release();
        if (wrote) {
            c.writer().flush();
        }
    }

    public static EventLoop server(int maxFrame) {
        FramedEcho echo = new FramedEcho(maxFrame);
        // inline handlers never wait, so the input cap must hold a whole frame: else reading would stop
        // at the cap (4 MiB by default) before a larger frame is complete, and the connection close
        // with LimitExceededException
        return EventLoop.builder()
                .onRequest(echo::onRequest)
                .executor(HandlerExecutors.inline())
                .maxInputBytes((int) Math.min(Integer.MAX_VALUE, Math.max(ConnConfig.DEFAULT_MAX_INPUT, 4L + maxFrame)))
                .build();
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        int maxFrame = Integer.getInteger("framed.maxFrame", 16 << 20);
        Listener l = Listener.create("tcp", "127.0.0.1:" + port);
        System.out.println("framed-echo listening on " + l.address());
        server(maxFrame).serve(l);
    }
}
