package io.netpoll.examples;

import io.netpoll.Connection;
import io.netpoll.EventLoop;
import io.netpoll.HandlerExecutors;
import io.netpoll.Listener;
import io.netpoll.buffer.Reader;

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

    /** Echoes every complete frame in the input; leaves a partial one for the next call. */
    public void onRequest(Connection c) throws IOException {
        Reader in = c.reader();
        boolean wrote = false;
        while (in.len() >= 4) {
            int n = in.peekInt(0);
            if (n < 0 || n > maxFrame) {
                LOG.log(System.Logger.Level.WARNING, "closing " + c.remoteAddress() + ": frame length " + n
                        + " outside 0.." + maxFrame);
                c.close();
                return;
            }
            if (in.len() < 4 + n) {
                break;
            }
            c.writer().append(in.slice(4 + n));
            wrote = true;
        }
        in.release();
        if (wrote) {
            c.writer().flush();
        }
    }

    public static EventLoop server(int maxFrame) {
        FramedEcho echo = new FramedEcho(maxFrame);
        return EventLoop.builder()
                .onRequest(echo::onRequest)
                .executor(HandlerExecutors.inline())
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
