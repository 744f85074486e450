package io.netpoll.bench.jmh;

import io.netpoll.sys.LibC;
import io.netpoll.sys.Linux;
import io.netpoll.sys.NativeBuffer;
import io.netpoll.sys.Sys;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.util.concurrent.TimeUnit;

/**
 * The cost of one system call through netpoll's libc seam (JNA direct mapping), beside the JDK's
 * own NIO path for a comparable call. {@code failingWrite}: {@code write(-1, ...)} fails with EBADF
 * in the kernel's entry path, so it is nearly pure call overhead plus errno retrieval;
 * {@code emptyRead}: a non-blocking read of an empty eventfd (EAGAIN), the shape of the last read of
 * every burst; {@code eventfdWriteRead}: a successful write and read of an eventfd (two calls).
 * {@code binding}: JNA direct mapping; {@code jdk}, the JDK's own JNI entry points for the
 * request path's calls (JDK 17-21, the fork opens the packages); or the FFM API (JDK 22+; the FFM rows fail on JDK 17). Run on
 * JDK 25 to compare both: {@code JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens", "java.base/java.io=ALL-UNNAMED"})
public class NativeCallBench {
    @Param({"jna", "jdk", "ffm"})
    public String binding;

    private LibC libc;
    private NativeBuffer buf;
    private int efd;
    private Pipe pipe;
    private ByteBuffer jdkBuf;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        libc = Sys.create(binding);
        buf = new NativeBuffer(64);
        buf.putLong(0, 1L);
        efd = libc.eventfd(0, Linux.EFD_NONBLOCK | Linux.EFD_CLOEXEC);
        pipe = Pipe.open();
        pipe.source().configureBlocking(false);
        jdkBuf = ByteBuffer.allocateDirect(64);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        libc.close(efd);
        pipe.source().close();
        pipe.sink().close();
    }

    @Benchmark
    public long failingWrite() {
        return libc.write(-1, buf.address(), 8);
    }

    @Benchmark
    public long emptyRead() {
        return libc.read(efd, buf.address() + 8, 8);
    }

    @Benchmark
    public long eventfdWriteRead() {
        libc.write(efd, buf.address(), 8);
        return libc.read(efd, buf.address() + 8, 8);
    }

    /** The JDK's NIO: a non-blocking read of an empty pipe (EAGAIN), for comparison with {@link #emptyRead}. */
    @Benchmark
    public int jdkEmptyPipeRead() throws IOException {
        jdkBuf.clear();
        return pipe.source().read(jdkBuf);
    }
}
