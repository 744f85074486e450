package io.netpoll.bench.load;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The framed echo protocol as the load generator speaks it, with no I/O: what request {@code seq} on
 * connection {@code conn} contains, and whether received bytes match it.
 *
 * A frame is a 4-byte big-endian payload length followed by the payload. Payload byte {@code i} of
 * request {@code seq} on connection {@code conn} is {@code (byte) (seq * 31 + conn * 7 + i)}, the
 * same pattern as echo-load.c, so every request differs from its neighbours and a response that is
 * misrouted, reordered, truncated or corrupted is caught. The pattern is a window onto one ramp
 * table ({@code ramp[k] == (byte) k}), so filling and checking are bulk copies and vectorised
 * {@link Arrays#mismatch} calls, allocation-free.
 */
final class FramePattern {
    private final int size;
    private final byte[] header = new byte[4];
    private final byte[] ramp;

    FramePattern(int size) {
        this.size = size;
        header[0] = (byte) (size >>> 24);
        header[1] = (byte) (size >>> 16);
        header[2] = (byte) (size >>> 8);
        header[3] = (byte) size;
        ramp = new byte[256 + size];
        for (int k = 0; k < ramp.length; k++) {
            ramp[k] = (byte) k;
        }
    }

    int frame() {
        return 4 + size;
    }

    private static int base(long seq, int conn) {
        return (int) ((seq * 31 + conn * 7L) & 0xff);
    }

    /** Appends request {@code seq} of connection {@code conn} to {@code out} (which must have room). */
    void put(ByteBuffer out, int conn, long seq) {
        out.put(header);
        out.put(ramp, base(seq, conn), size);
    }

    /**
     * Checks {@code len} received bytes {@code src[from..from+len)} against response {@code seq} of
     * connection {@code conn}, starting {@code frameOffset} bytes into that frame (the caller never
     * passes bytes beyond the frame's end). Returns -1 if they all match, else the offset within the
     * frame of the first wrong byte.
     */
    int check(byte[] src, int from, int len, int conn, long seq, int frameOffset) {
        int off = frameOffset;
        int i = from;
        int end = from + len;
        while (off < 4 && i < end) {
            if (src[i] != header[off]) {
                return off;
            }
            off++;
            i++;
        }
        if (i == end) {
            return -1;
        }
        int p = base(seq, conn) + (off - 4);
        int m = Arrays.mismatch(src, i, end, ramp, p, p + (end - i));
        return m < 0 ? -1 : off + m;
    }
}
