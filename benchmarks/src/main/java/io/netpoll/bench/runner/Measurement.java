package io.netpoll.bench.runner;

import java.util.Locale;

/**
 * One measured run: one contender, one scenario, one mode, one round. NaN or -1 marks a reading that
 * does not apply or failed; {@code note} says why a run is missing or suspect.
 *
 * @param mode          {@code closed}, {@code open} or {@code memory} (scenario 5, open loop with idle connections)
 * @param cpuUsPerReq   server user+system CPU time over the counted window / requests it completed in it
 * @param serverCore    fraction of core 0 busy during the window
 * @param genCore       fraction of core 1 (the generator's) busy during the window
 * @param foreignCore0  fraction of core 0 that processes other than the server ran on during the window;
 *                      above {@link #FOREIGN_LIMIT} the run is set aside (someone else was using the machine)
 * @param foreignCore1  the same for core 1, beyond the generator and the runner
 * @param peakRssKb     the server's VmHWM at the end of its life (warm-up and all runs included)
 * @param rssBaseKb     scenario 5: VmRSS after a full GC, with the 100 active connections open
 * @param rssLoadedKb   scenario 5: the same with 10,000 idle connections more
 * @param genLimited    closed loop only: the generator's core was more than 95% busy, so the generator,
 *                      not the server, may have set the rate
 * @param unsustained   open loop only: the server completed under 97% of the offered rate
 */
record Measurement(String scenario, String contender, int round, String mode, double targetRate,
                   double qps, double p50, double p99, double p999, double max, long errors,
                   double cpuUsPerReq, double serverCore, double genCore, double foreignCore0, double foreignCore1, long peakRssKb,
                   long rssBaseKb, long rssLoadedKb, long heapBaseKb, long heapLoadedKb, int idle,
                   boolean genLimited, boolean unsustained, String note) {

    static final double GEN_BUSY_LIMIT = 0.95;
    static final double SUSTAINED_FRACTION = 0.97;
    static final double FOREIGN_LIMIT = 0.10;

    boolean ok() {
        return note == null || note.isEmpty();
    }

    /** Scenario 5: resident memory per idle connection, KB. */
    double rssKbPerIdle() {
        return idle > 0 && rssBaseKb >= 0 && rssLoadedKb >= 0 ? (double) (rssLoadedKb - rssBaseKb) / idle : Double.NaN;
    }

    /** Scenario 5: live heap per idle connection, KB (JVM servers only). */
    double heapKbPerIdle() {
        return idle > 0 && heapBaseKb >= 0 && heapLoadedKb >= 0 ? (double) (heapLoadedKb - heapBaseKb) / idle : Double.NaN;
    }

    static String csvHeader() {
        return "scenario,contender,round,mode,target_rate,qps,p50_us,p99_us,p999_us,max_us,errors,cpu_us_per_req,"
                + "server_core,gen_core,foreign_core0,foreign_core1,peak_rss_kb,rss_base_kb,rss_loaded_kb,heap_base_kb,heap_loaded_kb,idle,"
                + "rss_kb_per_idle,heap_kb_per_idle,gen_limited,unsustained,note";
    }

    String csvRow() {
        return String.join(",", scenario, contender, Integer.toString(round), mode, n(targetRate), n(qps), n(p50),
                n(p99), n(p999), n(max), Long.toString(errors), n(cpuUsPerReq), n(serverCore), n(genCore), n(foreignCore0), n(foreignCore1),
                Long.toString(peakRssKb), Long.toString(rssBaseKb), Long.toString(rssLoadedKb),
                Long.toString(heapBaseKb), Long.toString(heapLoadedKb), Integer.toString(idle), n(rssKbPerIdle()),
                n(heapKbPerIdle()), Boolean.toString(genLimited), Boolean.toString(unsustained),
                note == null ? "" : '"' + note.replace('"', '\'') + '"');
    }

    private static String n(double d) {
        return Double.isNaN(d) ? "" : String.format(Locale.ROOT, "%.3f", d);
    }

    /** A run that produced no numbers, with the reason. */
    static Measurement failed(String scenario, String contender, int round, String mode, String why) {
        return new Measurement(scenario, contender, round, mode, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                Double.NaN, Double.NaN, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, -1, -1, -1, -1, -1, 0, false,
                false,
                why);
    }
}
