package io.netpoll.bench.runner;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One run of a load generator on core 1 against a server on core 0, with the readings taken at the
 * edges of the counted window: the server's CPU ticks and how busy each core was.
 *
 * <p>With our generator ({@code io.netpoll.bench.load.EchoLoad --markers}) the edges are the
 * {@code # window-start} / {@code # window-end} lines it prints the moment the window opens and closes,
 * and the requests the server completed inside the window come from the same line. With echo-load.c,
 * which prints nothing until it ends, the edges are timed from the process start and the request
 * count is qps times the window.
 */
final class LoadProcess {
    /** What to run: the generator's arguments. {@code hold} &gt; 0 keeps connections open after the result. */
    record Spec(int port, int conns, int size, int pipeline, double seconds, double genWarmup, double rate,
                int idle, double hold) {}

    /** Called while the generator holds its connections open after the window (memory readings). */
    interface HoldAction {
        void whileHeld() throws InterruptedException;
    }

    /**
     * A reading at one edge of the window: the server's CPU ticks, both cores, and the CPU ticks of
     * the two processes meant to share core 1 (the generator and this runner).
     */
    private record Edge(long nanos, long serverTicks, ProcStats.CoreTicks core0, ProcStats.CoreTicks core1,
                        long ownCore1Ticks) {
        static Edge now(long serverPid, long genPid) {
            long gen = ProcStats.cpuTicks(genPid);
            long self = ProcStats.cpuTicks(ProcessHandle.current().pid());
            return new Edge(System.nanoTime(), ProcStats.cpuTicks(serverPid), ProcStats.core(0), ProcStats.core(1),
                    gen < 0 || self < 0 ? -1 : gen + self);
        }
    }

    /**
     * The outcome. {@code result} holds the generator's key=value line (empty if it printed none);
     * {@code error} is null when the run is usable.
     */
    record Outcome(Map<String, String> result, int exitCode, double windowSeconds, long serverTicks,
                   long completed, double serverCoreBusy, double genCoreBusy, double foreignCore0,
                   double foreignCore1, String error) {
        double num(String key) {
            String v = result.get(key);
            return v == null ? Double.NaN : Double.parseDouble(v);
        }

        /** Server CPU time (user + system) per completed request, in microseconds. */
        double cpuUsPerRequest() {
            return completed > 0 && serverTicks >= 0 ? serverTicks * 1e6 / ProcStats.CLK_TCK / completed : Double.NaN;
        }
    }

    private LoadProcess() {}

    static Outcome run(BenchOptions o, boolean ourGenerator, Spec s, long serverPid, HoldAction hold, Path errLog)
            throws IOException, InterruptedException {
        List<String> cmd = command(o, ourGenerator, s);
        ServerProcess gen = ServerProcess.startPiped(1, cmd, errLog);
        long genPid = gen.pid();
        long started = System.nanoTime();
        Edge[] edges = new Edge[2];
        Thread timer = null;
        if (!ourGenerator) {
            timer = new Thread(() -> timedEdges(started, s, serverPid, genPid, edges), "window-timer");
            timer.setDaemon(true);
            timer.start();
        }
        long budgetMs = (long) ((s.genWarmup() + s.seconds() + s.hold()) * 1000) + 120_000;
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(budgetMs);
                gen.close();
            } catch (InterruptedException e) {
                // finished in time
            }
        }, "load-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        Map<String, String> result = new HashMap<>();
        long completed = -1;
        String error = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(gen.process().getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("# window-start")) {
                    edges[0] = Edge.now(serverPid, genPid);
                } else if (line.startsWith("# window-end")) {
                    edges[1] = Edge.now(serverPid, genPid);
                    completed = Long.parseLong(line.substring(line.indexOf('=') + 1).trim());
                } else if (line.startsWith("conns=")) {
                    result.putAll(parse(line));
                } else if (line.startsWith("# holding")) {
                    try {
                        if (hold != null) {
                            hold.whileHeld();
                        }
                    } finally {
                        gen.process().getOutputStream().close();
                    }
                }
            }
        }
        int rc = gen.awaitExit(30_000);
        watchdog.interrupt();
        if (timer != null) {
            timer.join(5_000);
        }
        if (rc != 0) {
            error = "generator exit " + rc + " (see " + errLog.getFileName() + ")";
        } else if (result.isEmpty() || edges[0] == null || edges[1] == null) {
            error = "generator printed no result";
        }
        if (edges[0] == null || edges[1] == null) {
            return new Outcome(result, rc, Double.NaN, -1, -1, Double.NaN, Double.NaN, Double.NaN, Double.NaN, error);
        }
        double window = (edges[1].nanos() - edges[0].nanos()) / 1e9;
        if (!ourGenerator && result.containsKey("qps")) {
            completed = Math.round(Double.parseDouble(result.get("qps")) * s.seconds());
        }
        long ticks = edges[0].serverTicks() < 0 || edges[1].serverTicks() < 0 ? -1
                : edges[1].serverTicks() - edges[0].serverTicks();
        return new Outcome(result, rc, window, ticks, completed, edges[1].core0().busySince(edges[0].core0()),
                edges[1].core1().busySince(edges[0].core1()), edges[1].core0().foreignSince(edges[0].core0(), ticks),
                edges[1].core1().foreignSince(edges[0].core1(), edges[0].ownCore1Ticks() < 0 || edges[1].ownCore1Ticks() < 0
                        ? -1 : edges[1].ownCore1Ticks() - edges[0].ownCore1Ticks()),
                error);
    }

    private static List<String> command(BenchOptions o, boolean ourGenerator, Spec s) {
        List<String> cmd = new ArrayList<>();
        if (ourGenerator) {
            cmd.add(o.jdk17().resolve("bin/java").toString());
            cmd.addAll(o.generatorJvmFlags());
            cmd.add("-cp");
            cmd.add(o.benchJar().toString());
            cmd.add("io.netpoll.bench.load.EchoLoad");
        } else {
            cmd.add(o.nativeTool("echo-load").toString());
        }
        cmd.addAll(List.of("127.0.0.1", Integer.toString(s.port()), Integer.toString(s.conns()),
                Integer.toString(s.size()), fmt(s.seconds()), Integer.toString(s.pipeline()), fmt(s.genWarmup()),
                fmt(s.rate())));
        if (ourGenerator) {
            cmd.add(Integer.toString(s.idle()));
            cmd.add("--markers");
            if (s.hold() > 0) {
                cmd.add("--hold=" + fmt(s.hold()));
            }
        }
        return cmd;
    }

    /** echo-load.c: its window opens genWarmup seconds after it starts (its connects take well under 10 ms). */
    private static void timedEdges(long started, Spec s, long serverPid, long genPid, Edge[] edges) {
        try {
            sleepUntil(started + (long) (s.genWarmup() * 1e9));
            edges[0] = Edge.now(serverPid, genPid);
            sleepUntil(started + (long) ((s.genWarmup() + s.seconds()) * 1e9));
            edges[1] = Edge.now(serverPid, genPid);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long ms;
        while ((ms = (nanos - System.nanoTime()) / 1_000_000) > 0) {
            Thread.sleep(ms);
        }
    }

    static Map<String, String> parse(String line) {
        Map<String, String> m = new HashMap<>();
        for (String kv : line.trim().split("\\s+")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return m;
    }

    static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
