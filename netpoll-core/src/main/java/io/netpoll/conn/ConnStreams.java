package io.netpoll.conn;

import io.netpoll.error.EofException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Blocking {@link InputStream} / {@link OutputStream} views of a connection, for stream-based code. */
final class ConnStreams {
    private ConnStreams() {
    }

    /**
     * Reads block until at least one byte is there; -1 at EOF; closing the stream closes the
     * connection. Each read releases the connection's reader ({@code release()}), so views taken
     * from it with {@code next}/{@code peek} end at the next stream read: use one or the other.
     */
    static final class In extends InputStream {
        private final NetConnection c;

        In(NetConnection c) {
            this.c = c;
        }

        @Override
        public int read() throws IOException {
            try {
                int b = c.reader().readByte() & 0xff;
                c.reader().release();
                return b;
            } catch (EofException e) {
                return -1;
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) {
                return 0;
            }
            c.enterOrThrow();
            try {
                try {
                    ((ConnReader) c.reader()).await(1);
                } catch (EofException e) {
                    return -1;
                }
                int n = Math.min(len, c.input.len());
                c.input.next(n).get(0, b, off, n);
                c.input.release();
                c.consumedInput();
                return n;
            } finally {
                c.leave();
            }
        }

        @Override
        public int available() {
            return c.inputLen();
        }

        @Override
        public void close() {
            c.close();
        }
    }

    /** Writes buffer; {@code flush()} sends; closing the stream flushes and closes the connection. */
    static final class Out extends OutputStream {
        private final NetConnection c;

        Out(NetConnection c) {
            this.c = c;
        }

        @Override
        public void write(int b) {
            c.writer().writeByte((byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            c.writer().writeBinary(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            c.writer().flush();
        }

        @Override
        public void close() throws IOException {
            try {
                if (c.isActive()) {
                    flush();
                }
            } finally {
                // once the bytes the flush left queued (a write-queue limit, the poller thread) are
                // sent, as a socket's close lets the kernel send what it holds: closing now dropped them
                c.closeWhenSent();
            }
        }
    }
}
