package io.netpoll.examples.http;

import io.netpoll.Connection;
import io.netpoll.EventLoop;
import io.netpoll.HandlerExecutors;
import io.netpoll.Listener;
import io.netpoll.buffer.Reader;
import io.netpoll.buffer.Writer;
import io.netpoll.examples.http.HttpResponses.ConnectionHeader;

import java.io.IOException;
import java.time.Duration;

/**
 * A small, fast HTTP/1.1 server on the Java callback API with inline handlers: the poller thread that
 * read the bytes parses them ({@link HttpParser}, straight from the connection's LinkBuffer) and
 * answers. One route: {@code GET /plaintext} (and {@code HEAD}) answers {@code Hello, World!}; other
 * methods on it get 405, every other path 404.
 *
 * <ul>
 *   <li><b>Keep-alive and pipelining:</b> every complete request in the input is answered in order,
 *       and the answers go out with one flush (or one per 64 KiB).</li>
 *   <li><b>Headers:</b> {@code Server}, {@code Date} (refreshed once a second, see {@link HttpResponses}),
 *       {@code Content-Type}, {@code Content-Length}; {@code Connection: close} when closing, and
 *       {@code Connection: keep-alive} to an HTTP/1.0 client that asked for it.</li>
 *   <li><b>Limits and errors:</b> see {@link HttpParser} (8 KiB head, 400/413/414/431/501/505). The
 *       answer to an error carries {@code Connection: close}; the server then half-closes, discards
 *       what the client still sends (up to 1 MiB, for at most 2 s) and closes, so the
 *       client reads the answer instead of a reset.</li>
 *   <li><b>Timeouts:</b> a connection without traffic for {@code idleTimeout} is closed (the library's
 *       idle timeout); a request whose bytes trickle in (slowloris) must be complete within
 *       {@code idleTimeout} of its first byte, else it gets 408 and the connection closes.</li>
 * </ul>
 *
 * <pre>java -jar examples/target/netpoll-examples.jar http 8080   (-Dhttp.idleTimeout=SECONDS, default 60)</pre>
 */
public final class HttpServer {
    private static final System.Logger LOG = System.getLogger("io.netpoll.examples.http");
    private static final int FLUSH_AT = 64 << 10;
    private static final int LINGER_MAX_BYTES = 1 << 20;
    private static final Duration LINGER_TIME = Duration.ofSeconds(2);

    private final Duration idleTimeout;
    private final long requestTimeoutNanos;
    private final int maxHead;
    private final long maxBody;

    /** Per-connection state, attached to the connection. */
    private static final class State {
        final HttpParser parser;
        long requestStart;
        boolean lingering;
        long lingerStart;
        long discarded;

        State(HttpParser parser) {
            this.parser = parser;
        }
    }

    public HttpServer(Duration idleTimeout) {
        this(idleTimeout, HttpParser.DEFAULT_MAX_HEAD, HttpParser.DEFAULT_MAX_BODY);
    }

    public HttpServer(Duration idleTimeout, int maxHead, long maxBody) {
        if (idleTimeout == null || idleTimeout.isZero() || idleTimeout.isNegative()) {
            throw new IllegalArgumentException("idleTimeout must be positive: " + idleTimeout);
        }
        this.idleTimeout = idleTimeout;
        this.requestTimeoutNanos = idleTimeout.toNanos();
        this.maxHead = maxHead;
        this.maxBody = maxBody;
    }

    /** An event loop running this server's handler inline on its pollers. */
    public EventLoop eventLoop() {
        return EventLoop.builder()
                .onRequest(this::onRequest)
                .executor(HandlerExecutors.inline())
                .idleTimeout(idleTimeout)
                .build();
    }

    /** Answers every complete request in the input; leaves a partial one for the next call. */
    public void onRequest(Connection c) throws IOException {
        State s = (State) c.attachment();
        if (s == null) {
            s = new State(new HttpParser(maxHead, maxBody));
            c.attach(s);
        }
        Reader in = c.reader();
        if (s.lingering) {
            discard(c, s, in);
            return;
        }
        Writer out = c.writer();
        HttpParser p = s.parser;
        boolean wrote = false;
        for (;;) {
            int r = p.parse(in);
            if (r == HttpParser.NEED_MORE) {
                break;
            }
            if (r == HttpParser.ERROR) {
                LOG.log(System.Logger.Level.DEBUG, () -> c.remoteAddress() + ": " + p.errorStatus() + " " + p.errorReason());
                HttpResponses.write(out, HttpResponses.error(p.errorStatus()), ConnectionHeader.CLOSE, true);
                in.release();
                linger(c, s, in);
                return;
            }
            s.requestStart = 0;
            respond(out, p);
            wrote = true;
            if (!p.keepAlive()) {
                in.release();
                linger(c, s, in);
                return;
            }
            if (out.mallocLen() >= FLUSH_AT) {
                out.flush();
                wrote = false;
            }
        }
        in.release();
        if (wrote) {
            out.flush();
        }
        if (p.inProgress()) {
            long now = System.nanoTime();
            if (s.requestStart == 0) {
                s.requestStart = now;
            } else if (now - s.requestStart > requestTimeoutNanos) {
                LOG.log(System.Logger.Level.DEBUG, () -> c.remoteAddress() + ": request not complete after " + idleTimeout);
                HttpResponses.write(out, HttpResponses.error(408), ConnectionHeader.CLOSE, true);
                linger(c, s, in);
            }
        } else {
            s.requestStart = 0;
        }
    }

    private static void respond(Writer out, HttpParser p) {
        String path = p.path();
        boolean get = p.isGet();
        boolean head = p.isHead();
        if (get && p.keepAlive() && p.minorVersion() == 1 && path.equals("/plaintext")) {
            out.writeBinary(HttpResponses.current().plaintext);
            return;
        }
        ConnectionHeader ch = !p.keepAlive() ? ConnectionHeader.CLOSE
                : p.explicitKeepAlive() ? ConnectionHeader.KEEP_ALIVE : ConnectionHeader.NONE;
        HttpResponses.Canned r = !path.equals("/plaintext") ? HttpResponses.NOT_FOUND
                : get || head ? HttpResponses.OK : HttpResponses.METHOD_NOT_ALLOWED;
        HttpResponses.write(out, r, ch, !head);
    }

    /**
     * The last answer is written: send it, half-close, and keep reading (discarding) until the client
     * closes, {@link #LINGER_TIME} passes (without input: the idle timeout; with input: checked as it
     * arrives), or it sent {@link #LINGER_MAX_BYTES}. Closing at
     * once while the client's bytes are still arriving would make the kernel answer them with a reset,
     * which can destroy the answer before the client reads it.
     */
    private static void linger(Connection c, State s, Reader in) {
        s.lingering = true;
        s.lingerStart = System.nanoTime();
        try {
            c.shutdownOutput(); // flushes first
        } catch (IOException e) {
            c.close();
            return;
        }
        c.setIdleTimeout(LINGER_TIME);
        discard(c, s, in);
    }

    private static void discard(Connection c, State s, Reader in) {
        int n = in.len();
        try {
            in.skip(n);
        } catch (IOException e) {
            c.close();
            return;
        }
        in.release();
        s.discarded += n;
        if (s.discarded > LINGER_MAX_BYTES || System.nanoTime() - s.lingerStart > LINGER_TIME.toNanos()) {
            c.close();
        }
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        Duration idle = Duration.ofSeconds(Long.getLong("http.idleTimeout", 60));
        Listener l = Listener.create("tcp", "127.0.0.1:" + port);
        System.out.println("http listening on " + l.address());
        new HttpServer(idle).eventLoop().serve(l);
    }
}
