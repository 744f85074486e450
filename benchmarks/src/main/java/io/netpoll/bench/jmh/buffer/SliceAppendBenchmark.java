package io.netpoll.bench.jmh.buffer;

import io.netpoll.buffer.BufferPool;
import io.netpoll.buffer.LinkBuffer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
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
 * (c) Slice {@code size} bytes off the front of a buffer and append them to another without
 * copying, then consume and free them: the forwarding path of a proxy. Every invocation leaves the
 * state as it found it, so nothing grows or leaks:
 * <ul>
 *   <li>LinkBuffer: slice(n) of one buffer, append to the other (reference-counted nodes, no
 *       copy), flush, release the source's consumed node; the two buffers swap roles each
 *       invocation.</li>
 *   <li>Netty: readRetainedSlice(n) of a pooled direct buffer, addComponent to a CompositeByteBuf,
 *       skip and discardReadComponents (which releases the slice); the source's reader index is
 *       rewound.</li>
 *   <li>Okio: read(sink, n) moves whole segments to another Buffer without copying, write(src, n)
 *       moves them back.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class SliceAppendBenchmark {
    @Param({"65536"})
    int size;

    private BufferPool pool;
    private LinkBuffer linkFrom;
    private LinkBuffer linkTo;
    private ByteBuf nettySrc;
    private CompositeByteBuf nettyDst;
    private final okio.Buffer okioSrc = new okio.Buffer();
    private final okio.Buffer okioDst = new okio.Buffer();

    @Setup
    public void setup() {
        byte[] data = new byte[size];
        ThreadLocalRandom.current().nextBytes(data);
        pool = new BufferPool(64L << 20);
        linkFrom = new LinkBuffer(pool);
        linkTo = new LinkBuffer(pool);
        linkFrom.writeBinary(data);
        linkFrom.flush();
        nettySrc = PooledByteBufAllocator.DEFAULT.directBuffer(size).writeBytes(data);
        nettyDst = PooledByteBufAllocator.DEFAULT.compositeDirectBuffer();
        okioSrc.write(data);
    }

    @TearDown
    public void tearDown() {
        linkFrom.close();
        linkTo.close();
        BufferLeaks.check("LinkBuffer", pool);
        nettyDst.release();
        nettySrc.release();
        okioSrc.clear();
        okioDst.clear();
    }

    @Benchmark
    public int linkBuffer() throws IOException {
        LinkBuffer from = linkFrom;
        LinkBuffer to = linkTo;
        LinkBuffer s = from.slice(size);
        to.append(s);
        s.close();
        to.flush();
        from.release();
        linkFrom = to;
        linkTo = from;
        return to.len();
    }

    @Benchmark
    public int nettyComposite() {
        ByteBuf s = nettySrc.readRetainedSlice(size);
        nettyDst.addComponent(true, s);
        int n = nettyDst.readableBytes();
        nettyDst.skipBytes(size);
        nettyDst.discardReadComponents();
        nettySrc.readerIndex(0);
        return n;
    }

    @Benchmark
    public long okioBuffer() throws IOException {
        okioSrc.read(okioDst, size);
        long n = okioDst.size();
        okioSrc.write(okioDst, size);
        return n;
    }
}
