package io.netpoll.bench.load;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The load generator's I/O loop on plain JDK NIO: one thread, one {@link Selector}, non-blocking
 * {@link SocketChannel}s and direct buffers. What goes on the wire comes from {@link FramePattern};
 * what is counted goes to {@link LatencyStats}; this class only moves bytes and keeps time.
 *
 * <p>Closed loop: each connection starts with {@code pipeline} requests and sends the next one as soon
 * as a response completes; latency is measured from when the request was queued.
 *
 * <p>Open loop ({@code rate > 0}): requests fall due on a fixed schedule, the k-th request overall at
 * {@code t0 + k / rate}, dealt round-robin to the connections (request k goes to connection
 * {@code k % conns}). A request that falls due while its connection already has {@code pipeline}
 * requests in flight waits on that connection and is sent when a response frees a slot; its latency
 * is still measured from when it was <em>due</em>, so a server that stalls is charged for every
 * request it delayed (no coordinated omission). The loop polls without blocking, because requests
 * fall due every few microseconds.
 */
final class NioDriver {
    private static final int READ_CHUNK = 256 * 1024;

    private final LoadConfig cfg;
    private final FramePattern pattern;
    private final int frame;
    private final int pipeline;
    private final ByteBuffer in = ByteBuffer.allocateDirect(READ_CHUNK);
    private final byte[] chunk = new byte[READ_CHUNK];
    private final Consumer<SelectionKey> onKey = this::onKey;
    private final List<Conn> idle = new ArrayList<>();
    private Conn[] conns;
    private LatencyStats stats;
    private Selector selector;
    private long t0;
    /** Open loop: nanoseconds between requests overall; 0 in closed loop. */
    private double periodNs;
    /** Open loop: requests that have fallen due so far, over all connections. */
    private long issued;
    /** Idle connections whose one request has been answered. */
    private int primed;
    private int primingErrors;

    NioDriver(LoadConfig cfg) {
        this.cfg = cfg;
        this.pattern = new FramePattern(cfg.size());
        this.frame = cfg.frame();
        this.pipeline = cfg.pipeline();
    }

    /** Runs the whole load and prints the result line to {@code out}; returns the exit status. */
    int run(PrintStream out) throws IOException {
        selector = Selector.open();
        try {
            connect();
            prime();
            if (cfg.markers()) {
                out.println("# connected active=" + cfg.conns() + " idle=" + cfg.idle());
                out.flush();
            }
            drive(out);
            out.println(stats.resultLine(cfg));
            out.flush();
            if (cfg.hold() > 0) {
                hold(out);
            }
            return stats.errors() == 0 ? 0 : 1;
        } finally {
            closeAll();
        }
    }

    private void connect() throws IOException {
        InetSocketAddress addr = new InetSocketAddress(cfg.host(), cfg.port());
        int total = cfg.conns() + cfg.idle();
        conns = new Conn[cfg.conns()];
        // idle connections first, so the active ones start their load with the idle set complete
        for (int i = 0; i < total; i++) {
            SocketChannel ch = SocketChannel.open();
            try {
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.socket().connect(addr, 10_000);
                ch.configureBlocking(false);
            } catch (IOException e) {
                ch.close();
                throw new IOException("connect " + (i + 1) + " of " + total + " to " + addr + " failed: " + e, e);
            }
            boolean isIdle = i < cfg.idle();
            // ids: active connections 0..conns-1 (the pattern and schedule use them), idle ones after
            int id = isIdle ? cfg.conns() + i : i - cfg.idle();
            Conn c = new Conn(id, ch, isIdle ? 1 : pipeline, frame);
            c.idle = isIdle;
            c.key = ch.register(selector, SelectionKey.OP_READ, c);
            if (isIdle) {
                idle.add(c);
            } else {
                conns[id] = c;
            }
        }
    }

    /**
     * Each idle connection makes one request and waits for its echo before the load starts, so the
     * server has accepted and set up every one of them (an idle keep-alive connection, as a real
     * client leaves it), and the accepts do not fall into the measured window. They stay registered
     * so a server that closes them is noticed (counted as errors).
     */
    private void prime() throws IOException {
        if (idle.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        for (Conn c : idle) {
            queue(c, now);
            flush(c);
        }
        long deadline = now + 120_000_000_000L;
        while (primed + primingErrors < idle.size()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("only " + primed + " of " + idle.size() + " idle connections were answered in 120 s");
            }
            selector.select(onKey, 100);
        }
    }

    private void drive(PrintStream out) throws IOException {
        t0 = System.nanoTime();
        long windowStart = t0 + (long) (cfg.warmup() * 1e9);
        long stop = windowStart + (long) (cfg.seconds() * 1e9);
        stats = new LatencyStats();
        stats.restart(t0, stop);
        periodNs = cfg.openLoop() ? 1e9 / cfg.rate() : 0;
        if (!cfg.openLoop()) {
            for (Conn c : conns) {
                long now = System.nanoTime();
                for (int k = 0; k < pipeline; k++) {
                    queue(c, now);
                }
                flush(c);
            }
        }
        // warm-up in two halves, restarting the count between them (see LatencyStats.restart)
        long mid = t0 + (windowStart - t0) / 2;
        runUntil(mid);
        stats.restart(Math.max(mid, System.nanoTime()), stop);
        runUntil(windowStart);
        stats.restart(windowStart, stop);
        if (cfg.markers()) {
            out.println("# window-start");
            out.flush();
        }
        runUntil(stop);
        if (cfg.markers()) {
            out.println("# window-end completed=" + stats.completed());
            out.flush();
        }
    }

    private void runUntil(long deadline) throws IOException {
        for (long now = System.nanoTime(); now < deadline; now = System.nanoTime()) {
            step(now, deadline);
        }
    }

    /** One turn of the loop: open loop sends what has fallen due, then every ready socket is served. */
    private void step(long now, long deadline) throws IOException {
        if (periodNs > 0) {
            for (long dueAt = t0 + (long) (issued * periodNs); dueAt <= now; dueAt = t0 + (long) (issued * periodNs)) {
                Conn c = conns[(int) (issued % conns.length)];
                issued++;
                if (!c.dead) {
                    c.due++;
                    pump(c);
                }
            }
            selector.selectNow(onKey);
        } else {
            selector.select(onKey, Math.max(1, Math.min(100, (deadline - now) / 1_000_000)));
        }
    }

    /** Open loop: sends the requests due on {@code c} while it has a free pipeline slot. */
    private void pump(Conn c) {
        while (c.sent < c.due && c.inFlight() < pipeline) {
            long g = c.id + c.sent * conns.length; // this request's index in the global schedule
            queue(c, t0 + (long) (g * periodNs));
        }
        flush(c);
    }

    private void queue(Conn c, long startNs) {
        c.startNs[(int) (c.sent % pipeline)] = startNs;
        pattern.put(c.out, c.id, c.sent);
        c.sent++;
    }

    private void flush(Conn c) {
        if (c.dead) {
            return;
        }
        try {
            if (c.out.position() > 0) {
                c.out.flip();
                c.channel.write(c.out);
                c.out.compact();
            }
        } catch (IOException e) {
            kill(c, "write failed: " + e.getMessage());
            return;
        }
        boolean pending = c.out.position() > 0;
        if (pending != c.writing) {
            c.writing = pending;
            c.key.interestOps(pending ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        }
    }

    private void onKey(SelectionKey key) {
        Conn c = (Conn) key.attachment();
        if (c.dead || !key.isValid()) {
            return;
        }
        int ready = key.readyOps();
        if ((ready & SelectionKey.OP_WRITE) != 0) {
            flush(c);
        }
        if ((ready & SelectionKey.OP_READ) != 0 && !c.dead) {
            read(c);
        }
    }

    private void read(Conn c) {
        int n;
        try {
            in.clear();
            n = c.channel.read(in);
        } catch (IOException e) {
            kill(c, "read failed: " + e.getMessage());
            return;
        }
        if (n < 0) {
            kill(c, "closed by server");
            return;
        }
        if (n == 0) {
            return;
        }
        in.get(0, chunk, 0, n);
        int responses = consume(c, n);
        if (responses > 0) {
            if (cfg.openLoop()) {
                pump(c);
            } else {
                flush(c);
            }
        }
    }

    /** Checks {@code n} received bytes of {@code c}; returns how many responses they completed. */
    private int consume(Conn c, int n) {
        int pos = 0;
        int responses = 0;
        while (pos < n) {
            if (c.done == c.sent) {
                throw new ProtocolViolation("conn " + c.id + ": " + (n - pos) + " bytes arrived with no request in flight");
            }
            int take = Math.min(n - pos, frame - c.recvOffset);
            int bad = pattern.check(chunk, pos, take, c.id, c.done, c.recvOffset);
            if (bad >= 0) {
                throw new ProtocolViolation("conn " + c.id + ": wrong echo for request " + c.done + " at frame byte " + bad);
            }
            pos += take;
            c.recvOffset += take;
            if (c.recvOffset == frame) {
                c.done++;
                c.recvOffset = 0;
                responses++;
                if (c.idle) {
                    primed++;
                    continue;
                }
                long now = System.nanoTime();
                stats.response(c.startNs[(int) ((c.done - 1) % pipeline)], now);
                if (!cfg.openLoop() && now < stats.windowEnd()) {
                    queue(c, now);
                }
            }
        }
        return responses;
    }

    private void kill(Conn c, String why) {
        if (c.dead) {
            return;
        }
        c.dead = true;
        if (stats != null) {
            stats.error();
        } else {
            primingErrors++;
        }
        System.err.println("conn " + c.id + ": " + why);
        c.key.cancel();
        try {
            c.channel.close();
        } catch (IOException ignored) {
            // already failing
        }
    }

    /** Keeps every connection open until standard input closes or the hold time passes. */
    private void hold(PrintStream out) {
        out.println("# holding");
        out.flush();
        CountDownLatch released = new CountDownLatch(1);
        Thread stdin = new Thread(() -> {
            InputStream s = System.in;
            try {
                while (s.read() >= 0) {
                    // any input line or end of input releases the hold
                    break;
                }
            } catch (IOException ignored) {
                // treat as end of input
            }
            released.countDown();
        }, "hold-stdin");
        stdin.setDaemon(true);
        stdin.start();
        try {
            released.await((long) (cfg.hold() * 1000), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeAll() {
        if (conns != null) {
            for (Conn c : conns) {
                if (c != null) {
                    close(c.channel);
                }
            }
        }
        for (Conn c : idle) {
            close(c.channel);
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // exiting anyway
        }
    }

    private static void close(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // exiting anyway
        }
    }
}
