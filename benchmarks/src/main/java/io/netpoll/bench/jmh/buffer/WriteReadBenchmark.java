package io.netpoll.bench.jmh.buffer;

import io.netpoll.buffer.BufferPool;
import io.netpoll.buffer.LinkBuffer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * (a) Write {@code size} bytes from a heap array into an off-heap buffer, then read them back into
 * another heap array: the plain copy-in/copy-out path of a request. Each contender in its idiom:
 * LinkBuffer keeps one buffer per connection (write, flush, next, release), Netty allocates a pooled
 * direct ByteBuf per message and releases it, Okio keeps one Buffer whose segments go back to its
 * pool as they are read. Nothing is held between invocations.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class WriteReadBenchmark {
    @Param({"1024"})
    int size;

    private byte[] src;
    private byte[] dst;
    private BufferPool pool;
    private LinkBuffer link;
    private final okio.Buffer okio = new okio.Buffer();

    @Setup
    public void setup() {
        src = new byte[size];
        ThreadLocalRandom.current().nextBytes(src);
        dst = new byte[size];
        pool = new BufferPool(64L << 20);
        link = new LinkBuffer(pool);
    }

    @TearDown
    public void tearDown() {
        link.close();
        okio.clear();
        BufferLeaks.check("LinkBuffer", pool);
    }

    @Benchmark
    public byte[] linkBuffer() throws IOException {
        link.writeBinary(src);
        link.flush();
        link.next(size).get(dst);
        link.release();
        return dst;
    }

    @Benchmark
    public byte[] nettyPooledDirect() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        b.writeBytes(src);
        b.readBytes(dst);
        b.release();
        return dst;
    }

    @Benchmark
    public byte[] okioBuffer() throws IOException {
        okio.write(src);
        okio.readFully(dst);
        return dst;
    }
}
