package io.netpoll.bench.peers;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Framed echo on JDK blocking sockets, one platform (OS) thread per connection.
 * Usage: {@code PlatformThreadEcho PORT}.
 */
public final class PlatformThreadEcho {
    private PlatformThreadEcho() {}

    public static void main(String[] args) throws IOException {
        AtomicLong ids = new AtomicLong();
        BlockingEcho.serve(Integer.parseInt(args[0]),
                r -> new Thread(r, "echo-" + ids.incrementAndGet()), "platform-thread");
    }
}
