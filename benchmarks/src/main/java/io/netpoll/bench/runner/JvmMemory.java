package io.netpoll.bench.runner;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A server's memory at one moment: resident set from /proc, and for a JVM its live heap via jcmd. */
record JvmMemory(long rssKb, long heapUsedKb) {
    /** "def new generation   total 78656K, used 2795K", "garbage-first heap   total 262144K, used 24567K" */
    private static final Pattern HEAP_LINE = Pattern.compile("total\\s+(\\d+)K,\\s+used\\s+(\\d+)K");

    /**
     * For a JVM, runs a full collection first ({@code jcmd PID GC.run}) so the heap holds live data
     * only, then reads {@code GC.heap_info} (summing the generations) and VmRSS. For a native server
     * reads VmRSS only ({@code heapUsedKb} is -1). The jcmd runs on core 1, away from the server.
     */
    static JvmMemory sample(long pid, Path jdkHome) throws InterruptedException {
        long heap = -1;
        if (jdkHome != null) {
            String jcmd = jdkHome.resolve("bin/jcmd").toString();
            run(List.of("taskset", "-c", "1", jcmd, Long.toString(pid), "GC.run"));
            Thread.sleep(500);
            String info = run(List.of("taskset", "-c", "1", jcmd, Long.toString(pid), "GC.heap_info"));
            Matcher m = HEAP_LINE.matcher(info);
            while (m.find()) {
                heap = Math.max(heap, 0) + Long.parseLong(m.group(2));
            }
        }
        return new JvmMemory(ProcStats.statusKb(pid, "VmRSS"), heap);
    }

    private static String run(List<String> cmd) throws InterruptedException {
        java.io.File out = null;
        try {
            out = java.io.File.createTempFile("jcmd", ".txt");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            return java.nio.file.Files.readString(out.toPath());
        } catch (IOException e) {
            return "";
        } finally {
            if (out != null) {
                out.delete();
            }
        }
    }
}
