package io.netpoll.bench.jmh.buffer;

import io.netpoll.buffer.BufferPool;
import io.netpoll.buffer.LinkBuffer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * (b) Frame parsing: a buffer holds {@link #FRAMES} frames (4-byte big-endian length + payload) that
 * arrived in 64 KiB network reads; each invocation splits all of them (time is per frame). Filling
 * is done before each invocation and not measured. Each contender in its idiom:
 * <ul>
 *   <li>LinkBuffer: peekInt(0) for the length (no allocation), then next(n) (a contiguous view: zero-copy inside a
 *       node, assembled into scratch memory when the frame spans nodes) or slice(n) (always
 *       zero-copy, a chain sharing the nodes), release() after each frame. Over the nodes of the
 *       64 KiB reads ({@code linkBufferNext}, {@code linkBufferSlice}), and over one contiguous node
 *       ({@code linkBufferNextContiguous}), the layout {@code nettyPooledDirect} gets.</li>
 *   <li>Netty: getInt at the reader index, then readRetainedSlice(n), released after use; over one
 *       contiguous pooled direct buffer (a merging cumulator) and over a CompositeByteBuf of 64 KiB
 *       components (a composite cumulator). As {@code ByteToMessageDecoder.channelRead} does, the
 *       cumulation is released once nothing in it is readable, inside the timed part: that is where
 *       Netty frees the memory the frames came in, as LinkBuffer's release() does per frame.</li>
 *   <li>Okio: readInt, then readByteString(n) (a copy: Okio has no view of its segments).</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class FrameParseBenchmark {
    static final int FRAMES = 128;
    /** The size of one simulated network read. */
    static final int READ = 64 * 1024;

    @State(Scope.Thread)
    public static class Frames {
        @Param({"64", "1024", "65536"})
        int frameSize;
        byte[] wire;

        @Setup
        public void setup() {
            ByteBuffer b = ByteBuffer.allocate(FRAMES * (4 + frameSize));
            byte[] payload = new byte[frameSize];
            ThreadLocalRandom.current().nextBytes(payload);
            for (int i = 0; i < FRAMES; i++) {
                b.putInt(frameSize).put(payload);
            }
            wire = b.array();
        }
    }

    @State(Scope.Thread)
    public static class Link {
        final BufferPool pool = new BufferPool(64L << 20);
        final LinkBuffer buf = new LinkBuffer(pool);

        @Setup(Level.Invocation)
        public void fill(Frames f) {
            for (int off = 0; off < f.wire.length; off += READ) {
                buf.writeBinary(f.wire, off, Math.min(READ, f.wire.length - off));
                buf.flush();
            }
            buf.seal(); // as after a kernel read: release() frees the last node once consumed
        }

        @TearDown
        public void close() {
            buf.close();
            BufferLeaks.check("LinkBuffer", pool);
        }
    }

    /**
     * The frames in one contiguous node, as {@link NettyContiguous} has them in one contiguous buffer:
     * the layout a merging cumulator builds, its copy outside the timed part for both. The node
     * references direct memory this state owns and refills before each invocation
     * ({@code writeDirect}, LinkBuffer's call for large caller memory), as Netty's arena hands out
     * memory it owns; the parse consumes and releases it all, so each fill starts on an empty buffer.
     */
    @State(Scope.Thread)
    public static class LinkContiguous {
        final BufferPool pool = new BufferPool(64L << 20);
        final LinkBuffer buf = new LinkBuffer(pool);
        ByteBuffer memory;

        @Setup(Level.Invocation)
        public void fill(Frames f) {
            if (buf.len() != 0) {
                throw new IllegalStateException("the last parse left " + buf.len() + " bytes");
            }
            if (memory == null) {
                memory = ByteBuffer.allocateDirect(f.wire.length);
            }
            for (int off = 0; off < f.wire.length; off += READ) {
                memory.put(off, f.wire, off, Math.min(READ, f.wire.length - off));
            }
            buf.writeDirect(memory.duplicate());
            buf.seal();
        }

        @TearDown
        public void close() {
            buf.close();
            BufferLeaks.check("LinkBuffer", pool);
        }
    }

    @State(Scope.Thread)
    public static class NettyContiguous {
        ByteBuf buf;

        @Setup(Level.Invocation)
        public void fill(Frames f) {
            if (buf != null) {
                buf.release(); // a cumulation the parse left readable (none with whole frames)
            }
            buf = PooledByteBufAllocator.DEFAULT.directBuffer(f.wire.length);
            for (int off = 0; off < f.wire.length; off += READ) {
                buf.writeBytes(f.wire, off, Math.min(READ, f.wire.length - off));
            }
        }

        @TearDown
        public void close() {
            if (buf != null) {
                buf.release();
            }
        }
    }

    @State(Scope.Thread)
    public static class NettyComposite {
        CompositeByteBuf buf;

        @Setup(Level.Invocation)
        public void fill(Frames f) {
            if (buf != null) {
                buf.release(); // a cumulation the parse left readable (none with whole frames)
            }
            buf = PooledByteBufAllocator.DEFAULT.compositeDirectBuffer(Integer.MAX_VALUE);
            for (int off = 0; off < f.wire.length; off += READ) {
                int k = Math.min(READ, f.wire.length - off);
                buf.addComponent(true, PooledByteBufAllocator.DEFAULT.directBuffer(k).writeBytes(f.wire, off, k));
            }
        }

        @TearDown
        public void close() {
            if (buf != null) {
                buf.release();
            }
        }
    }

    @State(Scope.Thread)
    public static class Okio {
        final okio.Buffer buf = new okio.Buffer();

        @Setup(Level.Invocation)
        public void fill(Frames f) {
            for (int off = 0; off < f.wire.length; off += READ) {
                buf.write(f.wire, off, Math.min(READ, f.wire.length - off));
            }
        }

        @TearDown
        public void close() {
            buf.clear();
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void linkBufferNext(Link s, Blackhole bh) throws IOException {
        splitNext(s.buf, bh);
    }

    /** next(n) over one contiguous node: the layout {@link #nettyPooledDirect} parses. */
    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void linkBufferNextContiguous(LinkContiguous s, Blackhole bh) throws IOException {
        splitNext(s.buf, bh);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void linkBufferSlice(Link s, Blackhole bh) throws IOException {
        splitSlice(s.buf, bh);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void nettyPooledDirect(NettyContiguous s, Blackhole bh) {
        if (parseNetty(s.buf, bh)) {
            s.buf = null;
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void nettyComposite(NettyComposite s, Blackhole bh) {
        if (parseNetty(s.buf, bh)) {
            s.buf = null;
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void okioBuffer(Okio s, Blackhole bh) throws IOException {
        splitOkio(s.buf, bh);
    }

    /** Splits the frames; releases {@code b} and returns true if nothing is left to read (as Netty's decoder does). */
    private static boolean parseNetty(ByteBuf b, Blackhole bh) {
        splitNetty(b, bh);
        if (b.isReadable()) {
            return false;
        }
        b.release();
        return true;
    }

    // The frame loops, shared with ReceiveParseBenchmark: each consumes every whole frame in the buffer.

    /** LinkBuffer: peekInt(0), then next(n) and release() per frame. */
    static void splitNext(LinkBuffer b, Blackhole bh) throws IOException {
        while (b.len() >= 4) {
            int n = b.peekInt(0);
            if (b.len() < 4 + n) {
                break;
            }
            b.skip(4);
            bh.consume(b.next(n));
            b.release();
        }
    }

    /** LinkBuffer: peekInt(0), then slice(n), closed after use, and release() per frame. */
    static void splitSlice(LinkBuffer b, Blackhole bh) throws IOException {
        while (b.len() >= 4) {
            int n = b.peekInt(0);
            if (b.len() < 4 + n) {
                break;
            }
            b.skip(4);
            LinkBuffer frame = b.slice(n);
            bh.consume(frame);
            frame.close();
            b.release();
        }
    }

    /** Netty: getInt at the reader index, then readRetainedSlice(n), released after use. */
    static void splitNetty(ByteBuf b, Blackhole bh) {
        while (b.readableBytes() >= 4) {
            int n = b.getInt(b.readerIndex());
            if (b.readableBytes() < 4 + n) {
                break;
            }
            b.skipBytes(4);
            ByteBuf frame = b.readRetainedSlice(n);
            bh.consume(frame);
            frame.release();
        }
    }

    /** Okio: the length from getByte (Okio has no peekInt), readInt, then readByteString(n) (a copy). */
    static void splitOkio(okio.Buffer b, Blackhole bh) throws IOException {
        while (b.size() >= 4) {
            int n = b.getByte(0) << 24 | (b.getByte(1) & 0xff) << 16 | (b.getByte(2) & 0xff) << 8 | (b.getByte(3) & 0xff);
            if (b.size() < 4 + n) {
                break;
            }
            b.readInt();
            bh.consume(b.readByteString(n));
        }
    }
}
