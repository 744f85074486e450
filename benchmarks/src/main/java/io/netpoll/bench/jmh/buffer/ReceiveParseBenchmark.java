package io.netpoll.bench.jmh.buffer;

import io.netpoll.buffer.BufferPool;
import io.netpoll.buffer.LinkBuffer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.ByteToMessageDecoder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import static io.netpoll.bench.jmh.buffer.FrameParseBenchmark.FRAMES;
import static io.netpoll.bench.jmh.buffer.FrameParseBenchmark.READ;

/**
 * (b) as a decoder meets it: the {@link FrameParseBenchmark} frames arrive in 64 KiB reads, and after
 * each read the frames it completed are split off (the same frame loops), everything timed, per
 * frame. {@code FrameParseBenchmark} fills each contender's memory before the timed part, so it
 * leaves out what a contender pays to get the bytes into the shape its parse needs; here that is
 * counted. Each read starts with one copy of its bytes from a heap array into the contender's
 * memory, the stand-in for the kernel's copy in read(2), the same for everyone. Then:
 * <ul>
 *   <li>LinkBuffer: the read's bytes are one new node, flushed and sealed, as the connection's
 *       {@code bookAck} leaves them; no further copy.</li>
 *   <li>Netty: the read lands in a newly allocated 64 KiB pooled direct buffer (the epoll channel's
 *       read buffer), which {@code ByteToMessageDecoder.channelRead}'s logic cumulates with Netty's own
 *       {@link ByteToMessageDecoder#MERGE_CUMULATOR} (copies it into one contiguous buffer unless
 *       nothing was left over) or {@link ByteToMessageDecoder#COMPOSITE_CUMULATOR} (adds it as a
 *       component); an empty cumulation is released, and bytes already read are discarded after
 *       16 reads and at each read-complete (every 16 reads, as the epoll channel's read loop fires it),
 *       as {@code channelRead} and {@code channelReadComplete} do. No pipeline around it.</li>
 *   <li>Okio: {@code write} into its segments.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class ReceiveParseBenchmark {
    /** Netty's {@code ByteToMessageDecoder} default, and the epoll channel's reads per read-complete. */
    private static final int DISCARD_AFTER_READS = 16;

    @State(Scope.Thread)
    public static class Link {
        final BufferPool pool = new BufferPool(64L << 20);
        final LinkBuffer buf = new LinkBuffer(pool);

        @TearDown
        public void close() {
            buf.close();
            BufferLeaks.check("LinkBuffer", pool);
        }
    }

    /** A decoder's state between reads: what {@code ByteToMessageDecoder} keeps in its fields. */
    @State(Scope.Thread)
    public static class NettyDecoder {
        ByteBuf cumulation;
        boolean first;
        int numReads;

        @TearDown
        public void close() {
            if (cumulation != null) {
                cumulation.release();
                cumulation = null;
            }
        }
    }

    @State(Scope.Thread)
    public static class Okio {
        final okio.Buffer buf = new okio.Buffer();

        @TearDown
        public void close() {
            buf.clear();
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void linkBufferNext(FrameParseBenchmark.Frames f, Link s, Blackhole bh) throws IOException {
        receiveAll(s.buf, f.wire, false, bh);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void linkBufferSlice(FrameParseBenchmark.Frames f, Link s, Blackhole bh) throws IOException {
        receiveAll(s.buf, f.wire, true, bh);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void nettyMerge(FrameParseBenchmark.Frames f, NettyDecoder d, Blackhole bh) {
        decodeNetty(ByteToMessageDecoder.MERGE_CUMULATOR, f.wire, d, bh);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void nettyComposite(FrameParseBenchmark.Frames f, NettyDecoder d, Blackhole bh) {
        decodeNetty(ByteToMessageDecoder.COMPOSITE_CUMULATOR, f.wire, d, bh);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void okioBuffer(FrameParseBenchmark.Frames f, Okio s, Blackhole bh) throws IOException {
        byte[] wire = f.wire;
        for (int off = 0; off < wire.length; off += READ) {
            s.buf.write(wire, off, Math.min(READ, wire.length - off));
            FrameParseBenchmark.splitOkio(s.buf, bh);
        }
    }

    /**
     * The reads into a LinkBuffer, each one new node, published and sealed as bookAck leaves it, and
     * the frames split after each with slice(n) or next(n).
     */
    private static void receiveAll(LinkBuffer b, byte[] wire, boolean slice, Blackhole bh) throws IOException {
        for (int off = 0; off < wire.length; off += READ) {
            b.writeBinary(wire, off, Math.min(READ, wire.length - off));
            b.flush();
            b.seal();
            if (slice) {
                FrameParseBenchmark.splitSlice(b, bh);
            } else {
                FrameParseBenchmark.splitNext(b, bh);
            }
        }
    }

    /** The reads through {@code ByteToMessageDecoder}'s channelRead / channelReadComplete logic. */
    private static void decodeNetty(ByteToMessageDecoder.Cumulator cumulator, byte[] wire, NettyDecoder d, Blackhole bh) {
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        int reads = 0;
        for (int off = 0; off < wire.length; off += READ) {
            ByteBuf in = alloc.directBuffer(READ).writeBytes(wire, off, Math.min(READ, wire.length - off));
            // channelRead
            d.first = d.cumulation == null;
            d.cumulation = cumulator.cumulate(alloc, d.first ? Unpooled.EMPTY_BUFFER : d.cumulation, in);
            FrameParseBenchmark.splitNetty(d.cumulation, bh);
            if (!d.cumulation.isReadable()) {
                d.numReads = 0;
                d.cumulation.release();
                d.cumulation = null;
            } else if (++d.numReads >= DISCARD_AFTER_READS) {
                d.numReads = 0;
                discardSomeReadBytes(d);
            }
            // channelReadComplete, after the epoll channel's batch of reads (or the last one)
            if (++reads % DISCARD_AFTER_READS == 0 || off + READ >= wire.length) {
                d.numReads = 0;
                discardSomeReadBytes(d);
            }
        }
    }

    private static void discardSomeReadBytes(NettyDecoder d) {
        if (d.cumulation != null && !d.first && d.cumulation.refCnt() == 1) {
            d.cumulation.discardSomeReadBytes();
        }
    }
}
