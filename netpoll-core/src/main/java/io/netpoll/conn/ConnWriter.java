package io.netpoll.conn;

import io.netpoll.buffer.LinkBuffer;
import io.netpoll.buffer.Writer;
import io.netpoll.poll.Poller;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A connection's {@link Writer}: the output {@link LinkBuffer}'s calls, and a {@link #flush()} that
 * sends through the {@link Sender}. Writes on a closed connection are dropped; the next flush throws
 * {@link io.netpoll.error.ConnectionClosedException}.
 */
final class ConnWriter implements Writer {
    private final NetConnection c;
    private final LinkBuffer out;

    ConnWriter(NetConnection c) {
        this.c = c;
        this.out = c.output;
    }

    @Override
    public ByteBuffer malloc(int n) {
        if (!c.enter()) {
            if (n < 0) {
                throw new IllegalArgumentException("negative size: " + n);
            }
            return ByteBuffer.allocate(n); // closed: the bytes go nowhere
        }
        try {
            return out.malloc(n);
        } finally {
            c.leave();
        }
    }

    @Override
    public int mallocLen() {
        return out.isClosed() ? 0 : out.mallocLen();
    }

    @Override
    public void mallocAck(int n) {
        if (c.enter()) {
            try {
                out.mallocAck(n);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void writeByte(byte b) {
        if (c.enter()) {
            try {
                out.writeByte(b);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void writeShort(short v) {
        if (c.enter()) {
            try {
                out.writeShort(v);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void writeInt(int v) {
        if (c.enter()) {
            try {
                out.writeInt(v);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void writeLong(long v) {
        if (c.enter()) {
            try {
                out.writeLong(v);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void writeBinary(byte[] bytes) {
        writeBinary(bytes, 0, bytes.length);
    }

    @Override
    public void writeBinary(byte[] bytes, int off, int len) {
        if (c.enter()) {
            try {
                out.writeBinary(bytes, off, len);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void writeBuffer(ByteBuffer src) {
        if (c.enter()) {
            try {
                out.writeBuffer(src);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void writeString(String s) {
        if (c.enter()) {
            try {
                out.writeString(s);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void writeDirect(ByteBuffer src) {
        if (c.enter()) {
            try {
                out.writeDirect(src);
            } finally {
                c.leave();
            }
        }
    }

    @Override
    public void append(LinkBuffer other) throws IOException {
        c.enterOrThrow();
        try {
            out.append(other);
        } finally {
            c.leave();
        }
    }

    /**
     * Sends everything written so far. On an application thread it returns when at most the
     * write-queue limit is still queued (default: when the kernel took every byte), or throws
     * {@link io.netpoll.error.WriteTimeoutException} at the write deadline or timeout (the queue stays
     * queued and is still sent). On a poller thread it never waits: what does not fit is queued, and
     * the connection stops reading until the queue drains.
     */
    @Override
    public void flush() throws IOException {
        c.enterOrThrow();
        try {
            boolean canWait = Poller.current() == null;
            while (!c.sender.send(canWait)) {
                c.sender.awaitRoom();
            }
        } finally {
            c.leave();
        }
    }
}
