package io.netpoll.bench.runner;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The end-to-end echo benchmark: every contender (an echo server on core 0) against the same load
 * (a generator on core 1), scenario by scenario, contenders alternating A B C ... A B C over rounds,
 * a fresh warmed-up server per scenario and round. Writes results/echo-TIMESTAMP.md, latest.md,
 * latest.png and raw/echo-TIMESTAMP.csv. See benchmarks/README.md; {@code --help} lists the options.
 */
public final class EchoBench {
    private final BenchOptions o;
    private final Path raw;
    private final Path logs;
    private final String stamp;
    private final boolean ourGenerator;
    private int nextPort;

    private EchoBench(BenchOptions o) throws IOException {
        this.o = o;
        this.stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        this.raw = o.out().resolve("raw");
        this.logs = raw.resolve("logs-" + stamp);
        this.ourGenerator = o.load().equals("java");
        this.nextPort = o.firstPort();
    }

    public static void main(String[] args) throws Exception {
        BenchOptions o;
        try {
            o = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(new EchoBench(o).run());
    }

    private int run() throws IOException, InterruptedException {
        if (o.replay() != null) {
            return replay(o.replay());
        }
        List<String> notes = new ArrayList<>(o.notes());
        List<Contender> contenders = pickContenders(notes);
        List<Scenario> scenarios = new ArrayList<>();
        for (Scenario s : Scenario.all(o.rates())) {
            if (o.scenarioIds().contains(s.id())) {
                scenarios.add(s);
            }
        }
        if (contenders.isEmpty() || scenarios.isEmpty()) {
            System.err.println("nothing to run: no contender or no scenario selected");
            return 2;
        }
        Files.createDirectories(logs);
        List<Measurement> all = new ArrayList<>();
        Path csv = raw.resolve("echo-" + stamp + ".csv");
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(csv))) {
            out.println(Measurement.csvHeader());
            for (Scenario s : scenarios) {
                for (int round = 1; round <= o.rounds(); round++) {
                    for (Contender c : contenders) {
                        System.out.printf("== scenario %s round %d/%d: %s%n", s.id(), round, o.rounds(), c.name());
                        double busy = o.quietWait() > 0 ? ProcStats.awaitQuiet(0.10, (long) (o.quietWait() * 1000)) : 0;
                        if (busy > 0.10) {
                            System.out.printf("   warning: the machine is busy (%.0f%% of a core used by others)%n",
                                    busy * 100);
                        }
                        List<Measurement> ms = s.memory() ? memoryUnit(s, c, round) : loadUnit(s, c, round);
                        for (Measurement m : ms) {
                            System.out.println("   " + brief(m));
                            out.println(m.csvRow());
                            out.flush();
                            all.add(m);
                        }
                    }
                }
            }
        }
        report(all, scenarios, contenders, notes, csv, stamp);
        return 0;
    }

    /** Writes echo-STAMP.md, echo-STAMP.png, and copies them to latest.md / latest.png. */
    private void report(List<Measurement> all, List<Scenario> scenarios, List<Contender> contenders, List<String> notes,
                        Path csv, String stamp) throws IOException {
        Files.createDirectories(o.out()); // a replay may write where nothing ran yet
        Summary summary = new Summary(all, scenarios, contenders);
        Path md = o.out().resolve("echo-" + stamp + ".md");
        Path png = o.out().resolve("echo-" + stamp + ".png");
        boolean chart = ChartWriter.write(summary, png);
        MarkdownReport.write(md, summary, o, notes, chart ? "echo-" + stamp + ".png" : null,
                o.out().resolve("raw").relativize(csv).toString(), ourGenerator,
                ZonedDateTime.ofInstant(Files.getLastModifiedTime(csv).toInstant(), ZoneId.systemDefault()));
        Files.copy(md, o.out().resolve("latest.md"), StandardCopyOption.REPLACE_EXISTING);
        if (chart) {
            Files.copy(png, o.out().resolve("latest.png"), StandardCopyOption.REPLACE_EXISTING);
            // latest.md links the timestamped chart; point it at latest.png instead
            String text = Files.readString(o.out().resolve("latest.md")).replace("(echo-" + stamp + ".png)", "(latest.png)");
            Files.writeString(o.out().resolve("latest.md"), text);
        }
        System.out.println("report: " + md);
        System.out.println("raw:    " + csv);
    }

    /** {@code --replay}: the report and chart of an earlier run, from its raw CSV. */
    private int replay(Path csv) throws IOException {
        List<Measurement> all = CsvReplay.read(csv);
        List<Scenario> scenarios = new ArrayList<>();
        for (Scenario s : Scenario.all(o.rates())) {
            if (all.stream().anyMatch(m -> m.scenario().equals(s.id()))) {
                scenarios.add(s);
            }
        }
        List<Contender> contenders = new ArrayList<>();
        for (Contender c : Contender.all(o)) {
            if (all.stream().anyMatch(m -> m.contender().equals(c.name()))) {
                contenders.add(c);
            }
        }
        o.replayedRounds(all.stream().mapToInt(Measurement::round).max().orElse(1));
        String name = csv.getFileName().toString();
        String stamp = name.startsWith("echo-") && name.endsWith(".csv") ? name.substring(5, name.length() - 4) : this.stamp;
        List<String> notes = new ArrayList<>(o.notes());
        noteMissingBaseline(contenders, notes);
        report(all, scenarios, contenders, notes, csv, stamp);
        return 0;
    }

    private List<Contender> pickContenders(List<String> notes) {
        List<Contender> picked = new ArrayList<>();
        List<String> wanted = o.contenderNames();
        for (Contender c : Contender.all(o)) {
            if (wanted != null && !wanted.contains(c.name())) {
                continue;
            }
            String missing = c.missing();
            if (missing != null) {
                String n = "skipped " + c.name() + ": " + missing.replace(o.root() + "/", "");
                System.out.println(n);
                notes.add(n);
            } else {
                picked.add(c);
            }
        }
        noteMissingBaseline(picked, notes);
        return picked;
    }

    private static void noteMissingBaseline(List<Contender> contenders, List<String> notes) {
        if (contenders.stream().noneMatch(c -> c.name().equals(Contender.BASELINE))) {
            notes.add("Netty epoll did not run, so no ratios could be computed");
        }
    }

    private int port() {
        int p = nextPort++;
        if (nextPort >= o.firstPort() + 2000) {
            nextPort = o.firstPort();
        }
        return p;
    }

    private Path log(Scenario s, Contender c, int round, String what) {
        return logs.resolve("s" + s.id() + "-" + c.name() + "-r" + round + "-" + what + ".log");
    }

    /** Scenarios 1-4: a fresh server, warm-up, a closed-loop run, an open-loop run. */
    private List<Measurement> loadUnit(Scenario s, Contender c, int round) throws IOException, InterruptedException {
        int port = port();
        List<Measurement> out = new ArrayList<>();
        try (ServerProcess srv = ServerProcess.start(0, c.commandFor(port), log(s, c, round, "server"))) {
            String fail = startAndWarm(srv, port, s, c, round);
            if (fail != null) {
                out.add(Measurement.failed(s.id(), c.name(), round, "closed", fail));
                return out;
            }
            LoadProcess.Outcome closed = LoadProcess.run(o, ourGenerator, spec(s, port, 0, 0, o.seconds()), srv.pid(),
                    null, log(s, c, round, "closed-gen"));
            LoadProcess.Outcome open = LoadProcess.run(o, ourGenerator, spec(s, port, s.openRate(), 0, o.seconds()),
                    srv.pid(), null, log(s, c, round, "open-gen"));
            long peak = ProcStats.statusKb(srv.pid(), "VmHWM");
            out.add(measurement(s, c, round, "closed", 0, closed, peak, null, null, srv));
            out.add(measurement(s, c, round, "open", s.openRate(), open, peak, null, null, srv));
        }
        return out;
    }

    /**
     * Scenario 5: a fresh server and warm-up; then 100 active connections alone (open loop), memory read
     * while they are held open; then the same plus 10,000 idle connections, memory read again.
     */
    private List<Measurement> memoryUnit(Scenario s, Contender c, int round) throws IOException, InterruptedException {
        int port = port();
        List<Measurement> out = new ArrayList<>();
        try (ServerProcess srv = ServerProcess.start(0, c.commandFor(port), log(s, c, round, "server"))) {
            String fail = startAndWarm(srv, port, s, c, round);
            if (fail != null) {
                out.add(Measurement.failed(s.id(), c.name(), round, "memory", fail));
                return out;
            }
            JvmMemory[] mem = new JvmMemory[2];
            double baseSeconds = Math.min(o.seconds(), 3);
            LoadProcess.Outcome base = runOurs(spec(s, port, s.openRate(), 0, baseSeconds), srv,
                    () -> mem[0] = JvmMemory.sample(srv.pid(), c.jdkHome()), log(s, c, round, "base-gen"));
            LoadProcess.Outcome loaded = runOurs(spec(s, port, s.openRate(), s.idle(), o.seconds()), srv,
                    () -> mem[1] = JvmMemory.sample(srv.pid(), c.jdkHome()), log(s, c, round, "idle-gen"));
            long peak = ProcStats.statusKb(srv.pid(), "VmHWM");
            String why = base.error() != null ? "baseline run: " + base.error() : null;
            out.add(measurement(s, c, round, "memory", s.openRate(), loaded, peak, mem[0], mem[1], srv, why));
        }
        return out;
    }

    private LoadProcess.Outcome runOurs(LoadProcess.Spec spec, ServerProcess srv, LoadProcess.HoldAction hold, Path log)
            throws IOException, InterruptedException {
        return LoadProcess.run(o, true, spec, srv.pid(), hold, log);
    }

    /** Waits for the server's port and drives it closed loop for the warm-up; returns why it failed, or null. */
    private String startAndWarm(ServerProcess srv, int port, Scenario s, Contender c, int round)
            throws IOException, InterruptedException {
        if (!srv.awaitListening(port, 30_000)) {
            String logName = log(s, c, round, "server").getFileName().toString();
            return srv.alive() ? "server did not listen on " + port + " within 30 s (see " + logName + ")"
                    : "server exited with status " + srv.process().exitValue() + " before listening (see " + logName + ")";
        }
        if (o.warmup() > 0) {
            LoadProcess.Spec warm = new LoadProcess.Spec(port, s.conns(), s.size(), s.pipeline(), o.warmup(), 0.5, 0, 0, 0);
            LoadProcess.Outcome w = LoadProcess.run(o, ourGenerator || s.memory(), warm, srv.pid(), null,
                    log(s, c, round, "warmup-gen"));
            if (w.exitCode() != 0) {
                return "warm-up failed: generator exit " + w.exitCode();
            }
        }
        return srv.alive() ? null : "server died during warm-up";
    }

    private LoadProcess.Spec spec(Scenario s, int port, double rate, int idle, double seconds) {
        return new LoadProcess.Spec(port, s.conns(), s.size(), s.pipeline(), seconds, o.genWarmup(), rate, idle,
                s.memory() ? 120 : 0);
    }

    private Measurement measurement(Scenario s, Contender c, int round, String mode, double rate,
                                    LoadProcess.Outcome r, long peak, JvmMemory base, JvmMemory loaded,
                                    ServerProcess srv) {
        return measurement(s, c, round, mode, rate, r, peak, base, loaded, srv, null);
    }

    private Measurement measurement(Scenario s, Contender c, int round, String mode, double rate,
                                    LoadProcess.Outcome r, long peak, JvmMemory base, JvmMemory loaded,
                                    ServerProcess srv, String extraNote) {
        String note = r.error() != null ? r.error() : extraNote;
        if (note == null && !srv.alive()) {
            note = "server died";
        }
        if (note == null && Math.max(r.foreignCore0(), r.foreignCore1()) > Measurement.FOREIGN_LIMIT) {
            note = String.format(java.util.Locale.ROOT, "set aside: other processes used %.0f%% of core 0, %.0f%% of core 1",
                    r.foreignCore0() * 100, r.foreignCore1() * 100);
        }
        if (note == null && r.num("errors") > 0) {
            note = "generator saw " + (long) r.num("errors") + " errors";
        }
        double qps = r.num("qps");
        boolean closed = mode.equals("closed");
        boolean genLimited = closed && r.genCoreBusy() > Measurement.GEN_BUSY_LIMIT;
        boolean unsustained = !closed && qps < Measurement.SUSTAINED_FRACTION * rate;
        return new Measurement(s.id(), c.name(), round, mode, rate, qps, r.num("p50_us"), r.num("p99_us"),
                r.num("p999_us"), r.num("max_us"), Double.isNaN(r.num("errors")) ? 0 : (long) r.num("errors"),
                r.cpuUsPerRequest(), r.serverCoreBusy(), r.genCoreBusy(), r.foreignCore0(), r.foreignCore1(), peak,
                base == null ? -1 : base.rssKb(), loaded == null ? -1 : loaded.rssKb(),
                base == null ? -1 : base.heapUsedKb(), loaded == null ? -1 : loaded.heapUsedKb(),
                base == null ? 0 : s.idle(), genLimited, unsustained, note);
    }

    private static String brief(Measurement m) {
        if (!m.ok() && Double.isNaN(m.qps())) {
            return m.mode() + ": FAILED " + m.note();
        }
        Map<String, String> f = new LinkedHashMap<>();
        f.put("qps", String.format("%.0f", m.qps()));
        f.put("p50", String.format("%.0fus", m.p50()));
        f.put("p99", String.format("%.0fus", m.p99()));
        f.put("p999", String.format("%.0fus", m.p999()));
        f.put("cpu/req", String.format("%.2fus", m.cpuUsPerReq()));
        f.put("srv-core", String.format("%.0f%%", m.serverCore() * 100));
        f.put("gen-core", String.format("%.0f%%", m.genCore() * 100));
        f.put("foreign", String.format("%.0f%%/%.0f%%", m.foreignCore0() * 100, m.foreignCore1() * 100));
        f.put("peak-rss", (m.peakRssKb() / 1024) + "MB");
        if (m.idle() > 0) {
            f.put("rss/idle", String.format("%.1fKB", m.rssKbPerIdle()));
            f.put("heap/idle", String.format("%.1fKB", m.heapKbPerIdle()));
        }
        StringBuilder b = new StringBuilder(m.mode()).append(':');
        f.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
        if (m.genLimited()) {
            b.append(" GENERATOR-LIMITED");
        }
        if (m.unsustained()) {
            b.append(" UNSUSTAINED");
        }
        if (!m.ok()) {
            b.append(" NOTE: ").append(m.note());
        }
        return b.toString();
    }
}
