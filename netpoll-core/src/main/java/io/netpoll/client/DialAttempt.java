package io.netpoll.client;

import io.netpoll.conn.ConnConfig;
import io.netpoll.conn.NetConnection;
import io.netpoll.error.ConnectionClosedException;
import io.netpoll.error.DialTimeoutException;
import io.netpoll.error.SyscallException;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.Poller;
import io.netpoll.sys.Errno;
import io.netpoll.sys.Linux;
import io.netpoll.sys.SockAddr;
import io.netpoll.sys.Sockets;

import java.io.IOException;
import java.net.SocketAddress;

/**
 * One non-blocking connect to one address, in steps, so a blocking thread ({@link io.netpoll.Dialer})
 * and a suspending coroutine can share it: {@link #begin} starts the connect; while
 * {@link #connecting()} the caller waits on {@code pollDesc().wg} (the socket turns writable when the
 * connect finishes) and calls {@link #check}; {@link #finish} turns the socket into a connection,
 * {@link #abandon} closes it.
 */
public final class DialAttempt {
    private final SocketAddress address;
    private final Poller poller;
    private final ConnConfig config;
    private int fd = -1;
    private PollDesc pd;
    private boolean connecting;
    private boolean tcp;

    public DialAttempt(SocketAddress address, Poller poller, ConnConfig config) {
        this.address = address;
        this.poller = poller;
        this.config = config;
    }

    /** Creates the socket, registers it and starts the connect, with {@code deadline} (nanoTime, 0 = none) on it. */
    public void begin(long deadline) throws IOException {
        int family = SockAddr.family(address);
        tcp = family != Linux.AF_UNIX;
        fd = Sockets.socket(family);
        if (tcp) {
            Sockets.setInt(fd, Linux.IPPROTO_TCP, Linux.TCP_NODELAY, 1);
        }
        pd = poller.newDesc(fd, PollDesc.WAKE_WAITERS);
        try {
            poller.add(pd);
        } catch (SyscallException e) {
            if (!poller.isRunning()) {
                throw new ConnectionClosedException(); // the client was closed
            }
            throw e;
        }
        connecting = !Sockets.connect(fd, address);
        if (connecting && deadline != 0) {
            pd.setDeadline(PollDesc.WRITE, deadline);
        }
    }

    public boolean connecting() {
        return connecting;
    }

    public PollDesc pollDesc() {
        return pd;
    }

    /**
     * After a wake-up: throws {@link DialTimeoutException} past the deadline,
     * {@link ConnectionClosedException} once the client's poller closed, the connect error
     * ({@code SO_ERROR}) if it failed; returns normally with {@link #connecting()} false once connected.
     */
    public void check() throws IOException {
        int waited = pd.check(PollDesc.WRITE);
        if (waited == PollDesc.ERR_TIMEOUT) {
            throw new DialTimeoutException();
        }
        if (waited == PollDesc.ERR_CLOSING) {
            throw new ConnectionClosedException(); // the client was closed while this dial waited
        }
        int err = Sockets.pendingError(fd);
        if (err != 0) {
            throw Errno.exception("connect", address, err);
        }
        try {
            Sockets.remoteAddress(fd);
            connecting = false;
        } catch (SyscallException e) {
            if (e.errno() != Errno.ENOTCONN) {
                throw e;
            }
            // still in progress: a spurious wake-up
        }
    }

    /**
     * The connected socket as a connection (its reads start now); the connection owns the fd from
     * here. Throws {@link ConnectionClosedException} (the connection closed) if the client's poller
     * closed meanwhile.
     */
    public NetConnection finish() throws ConnectionClosedException {
        pd.setDeadline(PollDesc.WRITE, 0);
        NetConnection c = new NetConnection(fd, poller, config, pd);
        fd = -1; // the connection's now: abandon() must not close a number it may reuse
        pd = null;
        c.adopt();
        if (!c.isActive()) {
            throw new ConnectionClosedException(); // the client closed as the dial completed
        }
        return c;
    }

    /** Gives up: unregisters and closes the socket. */
    public void abandon() {
        if (pd != null) {
            pd.close();
        }
        if (fd >= 0) {
            Sockets.close(fd);
            fd = -1;
        }
    }
}
