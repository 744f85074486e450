package io.netpoll.bench.load;

import java.io.IOException;

/**
 * A load generator for framed echo servers, in Java on JDK NIO; the counterpart of
 * {@code shared/bench/echo-load.c}, with the same arguments and result line, plus idle connections.
 * <pre>
 * EchoLoad HOST PORT CONNS SIZE SECONDS [PIPELINE] [WARMUP_SECONDS] [RATE] [IDLE] [--markers] [--hold=SECONDS]
 * </pre>
 * Prints one line: {@code conns=.. size=.. pipeline=.. rate=.. requests=.. errors=.. qps=.. p50_us=..
 * p99_us=.. p999_us=.. max_us=.. idle=.. completed=.. window_s=..}. Every echoed byte is checked: a
 * wrong byte ends the run at once with exit status 1; a connection that fails is counted in
 * {@code errors} and also gives exit status 1; bad arguments or a failed connect give 2.
 * See {@link LoadConfig} for the arguments, {@link NioDriver} for closed and open loop.
 */
public final class EchoLoad {
    private EchoLoad() {}

    public static void main(String[] args) {
        LoadConfig cfg;
        try {
            cfg = LoadConfig.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println(LoadConfig.USAGE);
            System.exit(2);
            return;
        }
        int rc;
        try {
            rc = new NioDriver(cfg).run(System.out);
        } catch (ProtocolViolation e) {
            System.out.flush();
            System.err.println("FATAL " + e.getMessage());
            rc = 1;
        } catch (IOException e) {
            System.err.println(e.getMessage());
            rc = 2;
        }
        System.out.flush();
        System.exit(rc);
    }
}
