package io.netpoll.bench.runner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A server under test: a command line with a {@code PORT} placeholder, the JDK it runs on (null for
 * a native server), and the files it needs. A contender whose files are missing is skipped with a note.
 *
 * @param name     short name used in tables and on the command line ({@code --contenders})
 * @param command  the server command; {@code PORT} is replaced by the port to listen on
 * @param jdkHome  the JDK running it (its jcmd reads the heap), or null
 * @param needs    files that must exist for the contender to run
 * @param about    one line for the report
 */
record Contender(String name, List<String> command, Path jdkHome, List<Path> needs, String about) {

    static final String BASELINE = "netty-epoll";

    /** Why the contender cannot run (a missing file, a jar without its main class), or null. */
    String missing() {
        for (Path p : needs) {
            if (!Files.exists(p)) {
                return p + " is missing";
            }
            if (p.toString().endsWith(".jar") && command.contains("-jar") && command.contains(p.toString())) {
                String why = mainClassMissing(p);
                if (why != null) {
                    return why;
                }
            }
        }
        return null;
    }

    /** For {@code java -jar}: the manifest's Main-Class must be in the jar. */
    private static String mainClassMissing(Path jar) {
        try (java.util.jar.JarFile j = new java.util.jar.JarFile(jar.toFile())) {
            java.util.jar.Manifest m = j.getManifest();
            String main = m == null ? null : m.getMainAttributes().getValue("Main-Class");
            if (main == null) {
                return jar + " has no Main-Class";
            }
            if (j.getEntry(main.replace('.', '/') + ".class") == null) {
                return jar + " lacks its main class " + main + " (not written yet?)";
            }
            return null;
        } catch (java.io.IOException e) {
            return jar + " cannot be read: " + e.getMessage();
        }
    }

    boolean jvm() {
        return jdkHome != null;
    }

    List<String> commandFor(int port) {
        List<String> c = new ArrayList<>();
        for (String s : command) {
            c.add(s.replace("PORT", Integer.toString(port)));
        }
        return c;
    }

    /** Every contender in report order, the C floor first and the Netty epoll baseline next. */
    static List<Contender> all(BenchOptions o) {
        Path benchJar = o.benchJar();
        Path examplesJar = o.examplesJar();
        Path cEcho = o.nativeTool("c-echo");
        List<Contender> c = new ArrayList<>();
        c.add(new Contender("c-echo", List.of(cEcho.toString(), "PORT"), null, List.of(cEcho),
                "shared/bench/c-echo.c, gcc -O2: single-threaded level-triggered epoll, the floor"));
        c.add(peer(o, "netty-epoll", o.jdk17(), benchJar, "io.netpoll.bench.peers.NettyEpollEcho",
                "Netty 4.2 native epoll transport, pooled allocator, LengthFieldBasedFrameDecoder"));
        c.add(jar(o, "netpoll-java", o.jdk17(), examplesJar, "framed-echo",
                "netpoll (this project), Java API: examples jar `framed-echo`"));
        c.add(jar(o, "netpoll-kotlin", o.jdk17(), examplesJar, "kt-echo",
                "netpoll (this project), Kotlin coroutines API: examples jar `kt-echo`"));
        // the same servers on JDK 25, where netpoll's libc binding is FFM instead of JNA; Netty beside
        // them on the same JDK so that each runtime has its own like-for-like baseline
        c.add(peer(o, "netty-epoll-25", o.jdk25(), benchJar, "io.netpoll.bench.peers.NettyEpollEcho",
                "Netty 4.2 native epoll, as netty-epoll, on JDK 25"));
        c.add(jar(o, "netpoll-java-25", o.jdk25(), examplesJar, "framed-echo",
                "netpoll, Java API, on JDK 25 (FFM libc binding instead of JNA)"));
        c.add(jar(o, "netpoll-kotlin-25", o.jdk25(), examplesJar, "kt-echo",
                "netpoll, Kotlin coroutines API, on JDK 25 (FFM libc binding instead of JNA)"));
        c.add(peer(o, "netty-nio", o.jdk17(), benchJar, "io.netpoll.bench.peers.NettyNioEcho",
                "Netty 4.2 NIO transport, same handler"));
        c.add(peer(o, "ktor", o.jdk17(), benchJar, "io.netpoll.bench.peers.KtorEcho",
                "Ktor 3.5 raw sockets (ktor-network), a coroutine per connection"));
        c.add(peer(o, "virtual-threads", o.jdk25(), benchJar, "io.netpoll.bench.peers.VirtualThreadEcho",
                "JDK 25 blocking sockets, a virtual thread per connection, 8 KB buffered streams"));
        c.add(peer(o, "platform-threads", o.jdk17(), benchJar, "io.netpoll.bench.peers.PlatformThreadEcho",
                "JDK 17 blocking sockets, a platform thread per connection, 8 KB buffered streams"));
        return c;
    }

    private static Contender peer(BenchOptions o, String name, Path jdk, Path jar, String main, String about) {
        List<String> cmd = new ArrayList<>();
        cmd.add(jdk.resolve("bin/java").toString());
        cmd.addAll(o.jvmFlags());
        cmd.add("-cp");
        cmd.add(jar.toString());
        cmd.add(main);
        cmd.add("PORT");
        return new Contender(name, cmd, jdk, List.of(jdk.resolve("bin/java"), jar), about);
    }

    private static Contender jar(BenchOptions o, String name, Path jdk, Path jar, String sub, String about) {
        List<String> cmd = new ArrayList<>();
        cmd.add(jdk.resolve("bin/java").toString());
        cmd.addAll(o.jvmFlags());
        cmd.add("-jar");
        cmd.add(jar.toString());
        cmd.add(sub);
        cmd.add("PORT");
        return new Contender(name, cmd, jdk, List.of(jdk.resolve("bin/java"), jar), about);
    }
}
