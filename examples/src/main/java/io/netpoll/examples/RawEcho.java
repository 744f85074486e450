package io.netpoll.examples;

import io.netpoll.Connection;
import io.netpoll.EventLoop;
import io.netpoll.HandlerExecutors;
import io.netpoll.Listener;
import io.netpoll.buffer.Reader;

import java.io.IOException;

/**
 * A raw echo server: every byte that arrives goes straight back, zero-copy, with inline handlers.
 *
 * <pre>java -jar examples/target/netpoll-examples.jar raw-echo 7301</pre>
 */
public final class RawEcho {
    private RawEcho() {
    }

    static void onRequest(Connection c) throws IOException {
        Reader in = c.reader();
        int n = in.len();
        if (n > 0) {
            c.writer().append(in.slice(n));
            in.release();
            c.writer().flush();
        }
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        Listener l = Listener.create("tcp", "127.0.0.1:" + port);
        System.out.println("raw-echo listening on " + l.address());
        EventLoop.builder().onRequest(RawEcho::onRequest).executor(HandlerExecutors.inline()).build().serve(l);
    }
}
