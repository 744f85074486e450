package io.netpoll.bench.runner;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A child process pinned to a core: an echo server (core 0) or a load generator (core 1). Every
 * child is remembered until it ends, and a shutdown hook stops whatever is still running, so an
 * interrupted benchmark leaves no server behind.
 */
final class ServerProcess implements AutoCloseable {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Process p : LIVE) {
                p.destroyForcibly();
            }
        }, "kill-children"));
    }

    private final Process process;

    private ServerProcess(Process process) {
        this.process = process;
        LIVE.add(process);
    }

    /** Starts {@code command} under {@code taskset -c core}, stdout and stderr to {@code log}. */
    static ServerProcess start(int core, List<String> command, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("taskset", "-c", Integer.toString(core)));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        return new ServerProcess(pb.start());
    }

    /** Starts a process whose output the caller reads (the load generator); stderr goes to {@code errLog}. */
    static ServerProcess startPiped(int core, List<String> command, Path errLog) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("taskset", "-c", Integer.toString(core)));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.appendTo(errLog.toFile()));
        return new ServerProcess(pb.start());
    }

    Process process() {
        return process;
    }

    /** taskset execs the command, so this is the server's own PID. */
    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Waits until 127.0.0.1:port accepts a connection; false if the process died or time ran out. */
    boolean awaitListening(int port, long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            if (!process.isAlive()) {
                return false;
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return true;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        return false;
    }

    /** Waits for the process to end by itself, up to {@code timeoutMs}; kills it if it does not. */
    int awaitExit(long timeoutMs) throws InterruptedException {
        if (!process.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
            close();
            return -1;
        }
        LIVE.remove(process);
        return process.exitValue();
    }

    /** SIGTERM, then SIGKILL after 5 s; waits until the process is gone. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            LIVE.remove(process);
        }
    }
}
