package io.netpoll.bench.load;

/**
 * What one load run does. Parsed from the same positional arguments as the reference C client
 * ({@code shared/bench/echo-load.c}), plus an idle-connection count and two runner options:
 * <pre>
 * EchoLoad HOST PORT CONNS SIZE SECONDS [PIPELINE] [WARMUP_SECONDS] [RATE] [IDLE] [--markers] [--hold=SECONDS]
 * </pre>
 * @param conns      active connections, each with up to {@code pipeline} requests in flight
 * @param size       payload bytes per request (the frame adds a 4-byte big-endian length)
 * @param seconds    length of the counted window
 * @param pipeline   requests in flight per connection (default 1)
 * @param warmup     seconds of load before the counted window (default 1, as in echo-load.c)
 * @param rate       0: closed loop; N &gt; 0: open loop at N requests/s in total
 * @param idle       extra connections that are opened and held but never send (default 0)
 * @param markers    print {@code # window-start} / {@code # window-end} lines the moment the counted
 *                   window opens and closes, so a runner can read the server's CPU time at both edges
 * @param hold       after the result line, keep every connection open for up to this many seconds or
 *                   until standard input closes, so a runner can read the server's memory while all
 *                   connections are still there (default 0: exit at once)
 */
public record LoadConfig(String host, int port, int conns, int size, double seconds, int pipeline,
                         double warmup, double rate, int idle, boolean markers, double hold) {

    static final String USAGE = "usage: EchoLoad HOST PORT CONNS SIZE SECONDS [PIPELINE] [WARMUP_SECONDS] [RATE]"
            + " [IDLE] [--markers] [--hold=SECONDS]";

    public LoadConfig {
        if (conns < 1 || pipeline < 1) {
            throw new IllegalArgumentException("CONNS and PIPELINE must be >= 1");
        }
        if (size < 0 || size > (64 << 20)) {
            throw new IllegalArgumentException("SIZE must be between 0 and 64 MB");
        }
        if (seconds <= 0 || seconds > 3600 || warmup < 0 || warmup > 3600 || hold < 0 || hold > 3600) {
            throw new IllegalArgumentException("SECONDS must be in (0, 3600], WARMUP and --hold in [0, 3600]");
        }
        if (idle < 0 || rate < 0) {
            throw new IllegalArgumentException("IDLE and RATE must be >= 0");
        }
    }

    /** Bytes on the wire per request (and per response). */
    public int frame() {
        return 4 + size;
    }

    public boolean openLoop() {
        return rate > 0;
    }

    public static LoadConfig parse(String[] args) {
        java.util.List<String> pos = new java.util.ArrayList<>();
        boolean markers = false;
        double hold = 0;
        for (String a : args) {
            if (a.equals("--markers")) {
                markers = true;
            } else if (a.startsWith("--hold=")) {
                hold = Double.parseDouble(a.substring("--hold=".length()));
            } else if (a.startsWith("--")) {
                throw new IllegalArgumentException("unknown option " + a);
            } else {
                pos.add(a);
            }
        }
        if (pos.size() < 5 || pos.size() > 9) {
            throw new IllegalArgumentException(USAGE);
        }
        return new LoadConfig(pos.get(0), Integer.parseInt(pos.get(1)), Integer.parseInt(pos.get(2)),
                Integer.parseInt(pos.get(3)), Double.parseDouble(pos.get(4)),
                pos.size() > 5 ? Integer.parseInt(pos.get(5)) : 1,
                pos.size() > 6 ? Double.parseDouble(pos.get(6)) : 1.0,
                pos.size() > 7 ? Double.parseDouble(pos.get(7)) : 0,
                pos.size() > 8 ? Integer.parseInt(pos.get(8)) : 0,
                markers, hold);
    }
}
