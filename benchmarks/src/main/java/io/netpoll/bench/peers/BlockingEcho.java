package io.netpoll.bench.peers;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ThreadFactory;

/**
 * The framed echo server on JDK blocking sockets with one thread per connection, shared by
 * {@link VirtualThreadEcho} and {@link PlatformThreadEcho}; only the kind of thread differs.
 * Each connection reads through a {@link BufferedInputStream} and writes through a
 * {@link BufferedOutputStream} of the JDK's default 8 KB, reuses one payload array, and flushes only
 * when no more input is already buffered ({@code in.available() == 0}), so a pipelined burst is
 * answered with one write. Frames larger than the buffers (64 KB) bypass them in both directions
 * (the JDK's buffered streams read into and write from the caller's array directly then), so
 * larger buffers would only cost memory per connection: with 64 KB buffers an idle connection held
 * about 130 KB of heap.
 */
final class BlockingEcho {
    static final int BUFFER = 8 * 1024;
    /** Largest frame accepted: the benchmarks use at most 64 KB payloads. */
    static final int MAX_FRAME = 16 << 20;

    private BlockingEcho() {}

    /** Binds 127.0.0.1:port (backlog 4096) and accepts forever, one new thread per connection. */
    static void serve(int port, ThreadFactory threads, String kind) throws IOException {
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress("127.0.0.1", port), 4096);
            System.out.println(kind + " echo listening on 127.0.0.1:" + port);
            while (true) {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                threads.newThread(() -> serveConnection(s)).start();
            }
        }
    }

    private static void serveConnection(Socket s) {
        try (s) {
            BufferedInputStream in = new BufferedInputStream(s.getInputStream(), BUFFER);
            BufferedOutputStream out = new BufferedOutputStream(s.getOutputStream(), BUFFER);
            byte[] header = new byte[4];
            byte[] payload = new byte[1024];
            while (readFully(in, header, 4)) {
                int len = ((header[0] & 0xff) << 24) | ((header[1] & 0xff) << 16)
                        | ((header[2] & 0xff) << 8) | (header[3] & 0xff);
                if (len < 0 || len > MAX_FRAME) {
                    return;
                }
                if (len > payload.length) {
                    payload = new byte[Math.max(len, payload.length * 2)];
                }
                if (!readFully(in, payload, len)) {
                    return;
                }
                out.write(header, 0, 4);
                out.write(payload, 0, len);
                if (in.available() == 0) {
                    out.flush();
                }
            }
        } catch (IOException e) {
            // the peer went away: this connection's thread ends
        }
    }

    /** Reads exactly n bytes; false on a clean end of stream before the first byte. */
    private static boolean readFully(InputStream in, byte[] b, int n) throws IOException {
        int off = 0;
        while (off < n) {
            int r = in.read(b, off, n - off);
            if (r < 0) {
                if (off == 0) {
                    return false;
                }
                throw new EOFException("stream ended inside a frame");
            }
            off += r;
        }
        return true;
    }
}
