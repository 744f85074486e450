package io.netpoll.bench.runner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Readings from Linux's /proc: a process's CPU time and memory, and how busy each core is. */
final class ProcStats {
    /** USER_HZ: /proc reports CPU time in these ticks. 100 on every mainstream Linux build. */
    static final int CLK_TCK = clockTicks();

    private ProcStats() {}

    /** utime + stime of the process (all its threads), in clock ticks; -1 if it is gone. */
    static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // the command name (field 2) may contain spaces: count fields after its closing parenthesis
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of the whole line
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** A field of /proc/PID/status in kB (VmHWM: peak resident set, VmRSS: resident now); -1 if unknown. */
    static long statusKb(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return -1;
    }

    /**
     * Ticks of one core so far, from /proc/stat: {@code busy} is everything but idle and iowait;
     * {@code task} is the part spent running processes (user, nice, system), without interrupt and
     * softirq time, which the kernel does not charge to any process.
     */
    record CoreTicks(long busy, long task, long total) {
        /** Fraction of the time between {@code earlier} and this reading that the core was busy. */
        double busySince(CoreTicks earlier) {
            long t = total - earlier.total;
            return t <= 0 ? 0 : (double) (busy - earlier.busy) / t;
        }

        /**
         * Fraction of the time since {@code earlier} that the core ran processes other than the one
         * that used {@code ownTicks} of CPU in the meantime (and is pinned to this core).
         */
        double foreignSince(CoreTicks earlier, long ownTicks) {
            long t = total - earlier.total;
            return t <= 0 || ownTicks < 0 ? 0 : Math.max(0, (double) (task - earlier.task - ownTicks) / t);
        }
    }

    static CoreTicks core(int cpu) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
            String prefix = "cpu" + cpu + " ";
            for (String line : lines) {
                if (line.startsWith(prefix)) {
                    String[] f = line.trim().split("\\s+");
                    long total = 0;
                    long idle = 0;
                    long task = 0;
                    // user nice system idle iowait irq softirq steal (guest time is already in user)
                    for (int i = 1; i <= 8 && i < f.length; i++) {
                        long v = Long.parseLong(f[i]);
                        total += v;
                        if (i == 4 || i == 5) {
                            idle += v;
                        }
                        if (i <= 3) {
                            task += v;
                        }
                    }
                    return new CoreTicks(total - idle, task, total);
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return new CoreTicks(0, 0, 0);
    }

    /**
     * Waits (up to {@code maxMs}) until cores 0 and 1 are both under {@code limit} busy over one
     * second, so a run does not start while a build or test suite is using the machine. Returns the
     * busier core's last reading.
     */
    static double awaitQuiet(double limit, long maxMs) throws InterruptedException {
        long end = System.currentTimeMillis() + maxMs;
        double worst;
        do {
            CoreTicks a0 = core(0);
            CoreTicks a1 = core(1);
            Thread.sleep(1000);
            worst = Math.max(core(0).busySince(a0), core(1).busySince(a1));
        } while (worst > limit && System.currentTimeMillis() < end);
        return worst;
    }

    private static int clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor();
            return Integer.parseInt(out);
        } catch (IOException | RuntimeException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }
}
