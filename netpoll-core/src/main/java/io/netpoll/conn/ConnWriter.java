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
        int t = c.enterCall();
        if (t == NetConnection.NOT_ENTERED) {
            if (n < 0) {
                throw new IllegalArgumentException("negative size: " + n);
            }
            return ByteBuffer.allocate(n); // closed: the bytes go nowhere
        }
        try {
            return out.malloc(n);
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public int mallocLen() {
        int t = c.enterCall(); // a destroy between a closed check and the call would free the buffer
        if (t == NetConnection.NOT_ENTERED) {
            return 0;
        }
        try {
            return out.mallocLen();
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public void mallocAck(int n) {
        int t = c.enterCall();
        if (t != NetConnection.NOT_ENTERED) {
            try {
                out.mallocAck(n);
            } finally {
                c.leaveCall(t);
            }
        }
    }

    @Override
    public void writeByte(byte b) {
        int t = c.enterCall();
        if (t != NetConnection.NOT_ENTERED) {
            try {
                out.writeByte(b);
            } finally {
                c.leaveCall(t);
            }
        }
    }

    @Override
    public void writeShort(short v) {
        int t = c.enterCall();
        if (t != NetConnection.NOT_ENTERED) {
            try {
                out.writeShort(v);
            } finally {
                c.leaveCall(t);
            }
        }
    }

    @Override
    public void writeInt(int v) {
        int t = c.enterCall();
        if (t != NetConnection.NOT_ENTERED) {
            try {
                out.writeInt(v);
            } finally {
                c.leaveCall(t);
            }
        }
    }

    @Override
    public void writeLong(long v) {
        int t = c.enterCall();
        if (t != NetConnection.NOT_ENTERED) {
            try {
                out.writeLong(v);
            } finally {
                c.leaveCall(t);
            }
        }
    }

    @Override
    public void writeBinary(byte[] bytes) {
        writeBinary(bytes, 0, bytes.length);
    }

    @Override
    public void writeBinary(byte[] bytes, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, bytes.length); // also when the bytes are dropped
        int t = c.enterCall();
        if (t != NetConnection.NOT_ENTERED) {
            try {
                out.writeBinary(bytes, off, len);
            } finally {
                c.leaveCall(t);
            }
        }
    }

    @Override
    public void writeBuffer(ByteBuffer src) {
        writeFrom(src, false);
    }

    @Override
    public void writeString(String s) {
        int t = c.enterCall();
        if (t != NetConnection.NOT_ENTERED) {
            try {
                out.writeString(s);
            } finally {
                c.leaveCall(t);
            }
        }
    }

    @Override
    public void writeDirect(ByteBuffer src) {
        writeFrom(src, true);
    }

    /** {@link #writeBuffer} ({@code direct} false) or {@link #writeDirect}. */
    private void writeFrom(ByteBuffer src, boolean direct) {
        int t = c.enterCall();
        if (t == NetConnection.NOT_ENTERED) {
            src.position(src.limit()); // dropped, but taken as the contract says: a drain loop ends
            return;
        }
        try {
            if (direct) {
                out.writeDirect(src);
            } else {
                out.writeBuffer(src);
            }
        } finally {
            c.leaveCall(t);
        }
    }

    @Override
    public void append(LinkBuffer other) throws IOException {
        int t = c.enterCallOrThrow();
        try {
            out.append(other);
        } finally {
            c.leaveCall(t);
        }
    }

    /**
     * Sends everything written so far. On an application thread it returns when at most the
     * write-queue limit is still queued (default: when the kernel took every byte), or throws
     * {@link io.netpoll.error.WriteTimeoutException} at the write deadline or timeout (the queue stays
     * queued and is still sent). On a poller thread it never waits: what does not fit is queued, and
     * the connection stops reading until the queue drains. Closed: {@link
     * io.netpoll.error.ConnectionClosedException}. A write that fails (the peer reset) throws its
     * error ({@link io.netpoll.error.ConnectionResetException}) here and in every later flush and
     * discards what is queued; the input stays readable (see {@link io.netpoll.Connection}).
     */
    @Override
    public void flush() throws IOException {
        int t = c.enterCallOrThrow();
        try {
            boolean canWait = Poller.current() == null;
            while (!c.sender.send(canWait)) {
                c.sender.awaitRoom();
            }
        } finally {
            c.leaveCall(t);
        }
    }
}
