package io.netpoll.bench.runner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Command-line options of {@link EchoBench}. {@code --help} lists them. */
final class BenchOptions {
    static final String HELP = String.join("\n",
            "usage: EchoBench [options]",
            "  --quick               1 round, 2 s warm-up, 3 s windows (smoke test)",
            "  --rounds N            rounds of alternating contenders (default 3)",
            "  --warmup S            seconds each server JVM is driven before measuring (default 5)",
            "  --seconds S           counted window of each measured run (default 10)",
            "  --gen-warmup S        the generator's own uncounted lead-in per run (default 2)",
            "  --scenarios LIST      comma list of 1,2,3,4a,4b,5 (4 = 4a,4b; default all)",
            "  --contenders LIST     comma list of names (default all that exist)",
            "  --load java|c         generator: our EchoLoad (default) or shared echo-load.c (scenario 5 always uses EchoLoad)",
            "  --rate ID=N           open-loop rate of scenario ID (e.g. --rate 2=8000); may repeat",
            "  --root DIR            repository root (default: current directory)",
            "  --out DIR             results directory (default ROOT/benchmarks/results)",
            "  --bin DIR             where the benchmarks jar, examples jar, c-echo and echo-load are",
            "                        (default ROOT/benchmarks/target and ROOT/examples/target; the script",
            "                        passes a private copy so a concurrent build cannot pull them away)",
            "  --port N              first TCP port to use (default 17100; each server start takes the next)",
            "  --quiet-wait S        before each server start, wait up to S seconds for both cores to be",
            "                        under 10% busy (default 60, --quick 10; 0 = do not wait)",
            "  --replay CSV          measure nothing: write the report and chart again from a run's raw CSV",
            "                        (give the run's --warmup/--seconds/--gen-warmup/--rate if they were not the defaults)",
            "  --note TEXT           a line for the report's notes (e.g. what differed in a replayed run); may repeat");

    private Path root = Path.of("").toAbsolutePath();
    private Path out;
    private int rounds = 3;
    private double warmup = 5;
    private double seconds = 10;
    private double genWarmup = 2;
    private boolean quick;
    private List<String> scenarios = new ArrayList<>(List.of("1", "2", "3", "4a", "4b", "5"));
    private List<String> contenders;
    private String load = "java";
    private final Map<String, Double> rates = new LinkedHashMap<>();
    private int port = 17100;
    private double quietWait = 60;
    private Path bin;
    private Path replay;
    private final List<String> notes = new ArrayList<>();

    static BenchOptions parse(String[] args) {
        BenchOptions o = new BenchOptions();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--quick" -> {
                    o.quick = true;
                    o.rounds = 1;
                    o.warmup = 2;
                    o.seconds = 3;
                    o.genWarmup = 1;
                    o.quietWait = 10;
                }
                case "--rounds" -> o.rounds = Integer.parseInt(args[++i]);
                case "--warmup" -> o.warmup = Double.parseDouble(args[++i]);
                case "--seconds" -> o.seconds = Double.parseDouble(args[++i]);
                case "--gen-warmup" -> o.genWarmup = Double.parseDouble(args[++i]);
                case "--scenarios" -> o.scenarios = expand(args[++i]);
                case "--contenders" -> o.contenders = Arrays.asList(args[++i].split(","));
                case "--load" -> o.load = args[++i];
                case "--rate" -> {
                    String[] kv = args[++i].split("=", 2);
                    o.rates.put(kv[0], Double.parseDouble(kv[1]));
                }
                case "--root" -> o.root = Path.of(args[++i]).toAbsolutePath();
                case "--out" -> o.out = Path.of(args[++i]).toAbsolutePath();
                case "--port" -> o.port = Integer.parseInt(args[++i]);
                case "--bin" -> o.bin = Path.of(args[++i]).toAbsolutePath();
                case "--quiet-wait" -> o.quietWait = Double.parseDouble(args[++i]);
                case "--replay" -> o.replay = Path.of(args[++i]).toAbsolutePath();
                case "--note" -> o.notes.add(args[++i]);
                case "--help", "-h" -> throw new IllegalArgumentException(HELP);
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + HELP);
            }
        }
        if (!o.load.equals("java") && !o.load.equals("c")) {
            throw new IllegalArgumentException("--load must be java or c");
        }
        if (o.rounds < 1 || o.seconds <= 0 || o.warmup < 0 || o.genWarmup < 0.5) {
            throw new IllegalArgumentException("--rounds >= 1, --seconds > 0, --warmup >= 0, --gen-warmup >= 0.5");
        }
        return o;
    }

    private static List<String> expand(String list) {
        List<String> ids = new ArrayList<>();
        for (String s : list.split(",")) {
            if (s.equals("4")) {
                ids.add("4a");
                ids.add("4b");
            } else {
                ids.add(s.trim());
            }
        }
        return ids;
    }

    Path root() {
        return root;
    }

    Path out() {
        return out != null ? out : root.resolve("benchmarks/results");
    }

    int rounds() {
        return rounds;
    }

    /** A replayed run's round count, as read from its CSV. */
    void replayedRounds(int n) {
        rounds = n;
    }

    /** Lines for the report's notes, as given with --note. */
    List<String> notes() {
        return notes;
    }

    /** The raw CSV to draw the report from instead of measuring, or null. */
    Path replay() {
        return replay;
    }

    double warmup() {
        return warmup;
    }

    double seconds() {
        return seconds;
    }

    double genWarmup() {
        return genWarmup;
    }

    boolean quick() {
        return quick;
    }

    List<String> scenarioIds() {
        return scenarios;
    }

    /** Names asked for, or null for all. */
    List<String> contenderNames() {
        return contenders;
    }

    String load() {
        return load;
    }

    Map<String, Double> rates() {
        return rates;
    }

    /** The benchmarks jar (peers, generator). */
    Path benchJar() {
        return bin != null ? bin.resolve("netpoll-benchmarks.jar") : root.resolve("benchmarks/target/netpoll-benchmarks.jar");
    }

    /** The examples jar (netpoll contenders). */
    Path examplesJar() {
        return bin != null ? bin.resolve("netpoll-examples.jar") : root.resolve("examples/target/netpoll-examples.jar");
    }

    /** A native program built from shared/bench: c-echo or echo-load. */
    Path nativeTool(String name) {
        return bin != null ? bin.resolve(name) : root.resolve("benchmarks/target").resolve(name);
    }

    double quietWait() {
        return quietWait;
    }

    int firstPort() {
        return port;
    }

    Path jdk17() {
        Path p = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        return Files.exists(p) ? p : Path.of(System.getProperty("java.home"));
    }

    Path jdk25() {
        return Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
    }

    /** The same flags for every JVM server. */
    List<String> jvmFlags() {
        return List.of("-Xms256m", "-Xmx2g", "--enable-native-access=ALL-UNNAMED",
                "-XX:+IgnoreUnrecognizedVMOptions", "--sun-misc-unsafe-memory-access=allow");
    }

    /** Flags of the load generator's JVM. */
    List<String> generatorJvmFlags() {
        return List.of("-Xms256m", "-Xmx1g", "-XX:+UseSerialGC");
    }
}
