package io.netpoll.bench.runner;

import java.util.ArrayList;
import java.util.List;

/**
 * One load shape. {@code openRate} is the fixed total request rate of its open-loop run, chosen so that
 * every contender, the slowest (Ktor) included, can sustain it, except scenario 1, whose 50,000/s is
 * the reference rate of shared/ANCHORS.md. {@code idle} &gt; 0 marks the memory scenario, which runs
 * open loop only.
 */
record Scenario(String id, String title, int conns, int size, int pipeline, double openRate, int idle) {

    boolean memory() {
        return idle > 0;
    }

    String shape() {
        return String.format(java.util.Locale.ROOT, "%,d connections, %s payload, %d in flight%s",
                conns, bytes(size), pipeline, idle > 0 ? String.format(java.util.Locale.ROOT, ", plus %,d idle connections", idle) : "");
    }

    static String bytes(int n) {
        if (n >= 1024 && n % 1024 == 0) {
            return (n / 1024) + " KB";
        }
        return n + " B";
    }

    /** The five scenarios of the brief; 4 is split in two payload sizes. Rates may be overridden by id. */
    static List<Scenario> all(java.util.Map<String, Double> rateOverrides) {
        List<Scenario> s = new ArrayList<>();
        s.add(new Scenario("1", "100 connections, 1 KB, 1 in flight", 100, 1024, 1, 50_000, 0));
        s.add(new Scenario("2", "1,000 connections, 1 KB, 1 in flight", 1000, 1024, 1, 5_000, 0));
        s.add(new Scenario("3", "100 connections, 1 KB, 16 in flight (pipelined)", 100, 1024, 16, 30_000, 0));
        s.add(new Scenario("4a", "100 connections, 64 B, 1 in flight", 100, 64, 1, 5_000, 0));
        s.add(new Scenario("4b", "100 connections, 64 KB, 1 in flight", 100, 64 * 1024, 1, 2_000, 0));
        s.add(new Scenario("5", "10,000 idle + 100 active connections, 1 KB, 1 in flight", 100, 1024, 1, 5_000, 10_000));
        List<Scenario> out = new ArrayList<>();
        for (Scenario sc : s) {
            Double r = rateOverrides.get(sc.id);
            out.add(r == null ? sc : new Scenario(sc.id, sc.title, sc.conns, sc.size, sc.pipeline, r, sc.idle));
        }
        return out;
    }
}
