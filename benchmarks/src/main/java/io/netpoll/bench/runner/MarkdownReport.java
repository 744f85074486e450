package io.netpoll.bench.runner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Writes the Markdown report: a headline table of ratios, then one table per scenario and mode. */
final class MarkdownReport {
    private final StringBuilder b = new StringBuilder();
    private final Summary s;

    private MarkdownReport(Summary s) {
        this.s = s;
    }

    /** {@code ended}: when the run ended (its last measurement). */
    static void write(Path file, Summary s, BenchOptions o, List<String> notes, String chart, String csv,
                      boolean ourGenerator, ZonedDateTime ended) throws IOException {
        MarkdownReport r = new MarkdownReport(s);
        r.header(o, ourGenerator, csv, ended);
        r.headline();
        if (chart != null) {
            r.line("![CPU per request relative to Netty epoll, and memory per idle connection](" + chart + ")");
            r.line("");
        }
        for (Scenario sc : s.scenarios) {
            r.scenario(sc);
        }
        r.setup(o, ourGenerator, notes);
        Files.writeString(file, r.b.toString());
    }

    private void line(String l) {
        b.append(l).append('\n');
    }

    private void header(BenchOptions o, boolean ourGenerator, String csv, ZonedDateTime ended) {
        line("# Framed echo: netpoll and JVM peers");
        line("");
        line("Run " + ended.format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z")) + ": "
                + o.rounds() + " round(s), contenders alternating within each round; each server started fresh per "
                + "scenario and round on core 0, warmed up " + LoadProcess.fmt(o.warmup()) + " s (closed loop), then a "
                + LoadProcess.fmt(o.seconds()) + " s counted window per run after a " + LoadProcess.fmt(o.genWarmup())
                + " s uncounted lead-in; load from " + (ourGenerator ? "`EchoLoad` (this module)" : "`echo-load.c`")
                + " on core 1. Numbers are medians over rounds; ratios are medians of per-round ratios against "
                + "Netty epoll (below 1.00x is better for CPU and p99, above 1.00x is better for qps). "
                + "Raw per-round numbers: `raw/" + csv + "`." + (o.quick() ? " **Quick run: 1 round, short windows; "
                + "for smoke testing, not for conclusions.**" : ""));
        line("");
    }

    private void headline() {
        line("## Headline: server CPU per request relative to Netty epoll");
        line("");
        line("Open loop: every server sees the same arrivals, so CPU per request compares cleanly. "
                + "`*` = the server did not sustain the offered rate in the median round.");
        line("");
        StringBuilder h = new StringBuilder("| contender |");
        StringBuilder sep = new StringBuilder("|---|");
        for (Scenario sc : s.scenarios) {
            String mode = sc.memory() ? "memory" : "open";
            h.append(" ").append(sc.id()).append(": ").append(shortShape(sc)).append(" @ ")
                    .append(String.format(Locale.ROOT, "%,.0f/s", sc.openRate())).append(mode.equals("memory") ? " +idle" : "").append(" |");
            sep.append("---:|");
        }
        line(h.toString());
        line(sep.toString());
        for (Contender c : s.contenders) {
            StringBuilder row = new StringBuilder("| ").append(c.name()).append(" |");
            for (Scenario sc : s.scenarios) {
                String mode = sc.memory() ? "memory" : "open";
                double r = s.ratio(sc.id(), mode, c.name(), Measurement::cpuUsPerReq);
                int bad = s.count(sc.id(), mode, c.name(), Measurement::unsustained);
                int n = s.runs(sc.id(), mode, c.name()).size();
                row.append(" ").append(ratio(r)).append(n > 0 && bad * 2 > n ? " *" : "").append(" |");
            }
            line(row.toString());
        }
        line("");
    }

    private static String shortShape(Scenario sc) {
        return sc.conns() + "c " + Scenario.bytes(sc.size()).replace(" ", "") + (sc.pipeline() > 1 ? " x" + sc.pipeline() : "");
    }

    private void scenario(Scenario sc) {
        line("## Scenario " + sc.id() + ": " + sc.title());
        line("");
        for (String mode : Summary.modes(sc)) {
            switch (mode) {
                case "closed" -> {
                    line("### Closed loop (each response triggers the next request; " + sc.conns() * sc.pipeline()
                            + " requests in flight)");
                    line("");
                    loadTable(sc, mode);
                }
                case "open" -> {
                    line(String.format(Locale.ROOT, "### Open loop at %,.0f requests/s", sc.openRate()));
                    line("");
                    loadTable(sc, mode);
                }
                default -> {
                    line(String.format(Locale.ROOT, "### %,d idle connections held open while 100 active connections "
                            + "run open loop at %,.0f requests/s", sc.idle(), sc.openRate()));
                    line("");
                    memoryTable(sc);
                }
            }
        }
    }

    private void loadTable(Scenario sc, String mode) {
        line("| contender | CPU/req vs Netty | qps vs Netty | p99 vs Netty | qps | p50 us | p99 us | p99.9 us "
                + "| CPU us/req | server core | gen core | peak RSS MB | flags |");
        line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        for (Contender c : s.contenders) {
            String id = sc.id();
            String n = c.name();
            List<Measurement> runs = s.runs(id, mode, n);
            if (runs.isEmpty()) {
                line("| " + n + " | | | | | | | | | | | | " + String.join("; ", s.notes(id, mode, n)) + " |");
                continue;
            }
            boolean gen = s.count(id, mode, n, Measurement::genLimited) * 2 > runs.size();
            String qps = num(s.median(id, mode, n, Measurement::qps), "%,.0f");
            line("| " + n
                    + " | " + ratio(s.ratio(id, mode, n, Measurement::cpuUsPerReq))
                    + " | " + qpsRatio(s.ratio(id, mode, n, Measurement::qps, m -> !m.genLimited()))
                    + " | " + ratio(s.ratio(id, mode, n, Measurement::p99))
                    + " | " + (gen ? "≥ " + qps : qps)
                    + " | " + num(s.median(id, mode, n, Measurement::p50), "%,.0f")
                    + " | " + num(s.median(id, mode, n, Measurement::p99), "%,.0f")
                    + " | " + num(s.median(id, mode, n, Measurement::p999), "%,.0f")
                    + " | " + num(s.median(id, mode, n, Measurement::cpuUsPerReq), "%.2f")
                    + " | " + pct(s.median(id, mode, n, Measurement::serverCore))
                    + " | " + pct(s.median(id, mode, n, Measurement::genCore))
                    + " | " + num(s.median(id, mode, n, m -> m.peakRssKb() / 1024.0), "%,.0f")
                    + " | " + flags(id, mode, n, runs.size()) + " |");
        }
        line("");
    }

    private void memoryTable(Scenario sc) {
        line("| contender | RSS KB per idle conn | heap KB per idle conn | p99 vs Netty | CPU/req vs Netty | qps "
                + "| p50 us | p99 us | p99.9 us | CPU us/req | RSS MB at 100 conns | RSS MB at 10,100 conns | peak RSS MB | flags |");
        line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        String mode = "memory";
        for (Contender c : s.contenders) {
            String id = sc.id();
            String n = c.name();
            List<Measurement> runs = s.runs(id, mode, n);
            if (runs.isEmpty()) {
                line("| " + n + " | | | | | | | | | | | | | " + String.join("; ", s.notes(id, mode, n)) + " |");
                continue;
            }
            line("| " + n
                    + " | " + num(s.median(id, mode, n, Measurement::rssKbPerIdle), "%.1f")
                    + " | " + num(s.median(id, mode, n, Measurement::heapKbPerIdle), "%.1f")
                    + " | " + ratio(s.ratio(id, mode, n, Measurement::p99))
                    + " | " + ratio(s.ratio(id, mode, n, Measurement::cpuUsPerReq))
                    + " | " + num(s.median(id, mode, n, Measurement::qps), "%,.0f")
                    + " | " + num(s.median(id, mode, n, Measurement::p50), "%,.0f")
                    + " | " + num(s.median(id, mode, n, Measurement::p99), "%,.0f")
                    + " | " + num(s.median(id, mode, n, Measurement::p999), "%,.0f")
                    + " | " + num(s.median(id, mode, n, Measurement::cpuUsPerReq), "%.2f")
                    + " | " + num(s.median(id, mode, n, m -> m.rssBaseKb() / 1024.0), "%,.0f")
                    + " | " + num(s.median(id, mode, n, m -> m.rssLoadedKb() / 1024.0), "%,.0f")
                    + " | " + num(s.median(id, mode, n, m -> m.peakRssKb() / 1024.0), "%,.0f")
                    + " | " + flags(id, mode, n, runs.size()) + " |");
        }
        line("");
    }

    private String flags(String id, String mode, String n, int runs) {
        StringBuilder f = new StringBuilder();
        int gen = s.count(id, mode, n, Measurement::genLimited);
        int uns = s.count(id, mode, n, Measurement::unsustained);
        if (gen > 0) {
            f.append("generator-limited ").append(gen).append('/').append(runs).append("; ");
        }
        if (uns > 0) {
            f.append("unsustained ").append(uns).append('/').append(runs).append("; ");
        }
        Set<String> notes = s.notes(id, mode, n);
        for (String note : notes) {
            f.append(note).append("; ");
        }
        int total = s.attempts(id, mode, n).size();
        if (runs < total) {
            f.append(runs).append(" of ").append(total).append(" rounds usable; ");
        }
        return f.length() == 0 ? "" : f.substring(0, f.length() - 2);
    }

    private void setup(BenchOptions o, boolean ourGenerator, List<String> notes) {
        line("## Setup");
        line("");
        line("- Machine: " + machine());
        line("- JVM servers: flags `" + String.join(" ", o.jvmFlags()) + "`; with one CPU (taskset) the JVM's "
                + "ergonomics choose SerialGC and 1 as the processor count.");
        line("- Load generator: " + (ourGenerator
                ? "`io.netpoll.bench.load.EchoLoad` on JDK 17 (`" + String.join(" ", o.generatorJvmFlags()) + "`)"
                : "`shared/bench/echo-load.c` (gcc -O2); scenario 5 uses `EchoLoad` (idle connections)")
                + ". Closed-loop runs whose generator core was over "
                + (int) (Measurement.GEN_BUSY_LIMIT * 100) + "% busy are flagged *generator-limited*; their qps is "
                + "a lower bound for the server, not a server result. Open-loop runs that completed under "
                + (int) (Measurement.SUSTAINED_FRACTION * 100) + "% of the offered rate are flagged *unsustained*.");
        line("- Open-loop rates: " + rates());
        line("");
        line("| contender | what | command |");
        line("|---|---|---|");
        for (Contender c : s.contenders) {
            line("| " + c.name() + " | " + c.about() + " | `" + shown(String.join(" ", c.command()), o) + "` |");
        }
        line("");
        if (!notes.isEmpty()) {
            line("Notes:");
            line("");
            for (String n : notes) {
                line("- " + n);
            }
            line("");
        }
    }

    /** A command as a reader would type it: jars and tools by their place in the repository. */
    private static String shown(String cmd, BenchOptions o) {
        return cmd.replace(o.benchJar().toString(), "benchmarks/target/netpoll-benchmarks.jar")
                .replace(o.examplesJar().toString(), "examples/target/netpoll-examples.jar")
                .replace(o.nativeTool("c-echo").toString(), "benchmarks/target/c-echo")
                .replace(o.root() + "/", "");
    }

    private String rates() {
        StringBuilder r = new StringBuilder();
        for (Scenario sc : s.scenarios) {
            r.append(String.format(Locale.ROOT, "scenario %s %,.0f/s; ", sc.id(), sc.openRate()));
        }
        return r.append("each below what the slowest contender (Ktor) sustains, except scenario 1's reference "
                + "50,000/s from shared/ANCHORS.md.").toString();
    }

    private static String machine() {
        String cpu = "?";
        int cpus = 0;
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name") && cpus++ == 0) {
                    cpu = l.substring(l.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // unknown
        }
        return cpu + ", " + cpus + " CPUs, Linux "
                + System.getProperty("os.version") + "; servers on core 0, generator on core 1";
    }

    /** A qps ratio only from rounds where neither server was held back by the generator. */
    private static String qpsRatio(double r) {
        return Double.isNaN(r) ? "n/a (gen)" : ratio(r);
    }

    private static String ratio(double r) {
        return Double.isNaN(r) ? "—" : String.format(Locale.ROOT, "%.2fx", r);
    }

    private static String pct(double f) {
        return Double.isNaN(f) ? "—" : String.format(Locale.ROOT, "%.0f%%", f * 100);
    }

    private static String num(double v, String fmt) {
        return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, fmt, v);
    }
}
