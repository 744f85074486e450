package io.netpoll;

import io.netpoll.conn.Addresses;
import io.netpoll.error.SyscallException;
import io.netpoll.sys.Errno;
import io.netpoll.sys.Linux;
import io.netpoll.sys.SockAddr;
import io.netpoll.sys.Sockets;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A listening socket for {@link EventLoop#serve}: {@code tcp} (IPv6 dual-stack when the host is
 * empty or an IPv6 address, else IPv4), {@code tcp4}, {@code tcp6} (IPv6 only) or {@code unix}.
 *
 * <pre>{@code
 * Listener l = Listener.create("tcp", "127.0.0.1:0");   // port 0: the kernel picks one
 * InetSocketAddress bound = (InetSocketAddress) l.address();
 * }</pre>
 * A unix socket path must not exist yet (as in Go; {@code EADDRINUSE} otherwise); the file is removed
 * when the listener closes. {@code "@name"} is an abstract unix address (no file).
 */
public final class Listener implements AutoCloseable {
    /** Listen backlog; the kernel caps it at net.core.somaxconn. */
    public static final int BACKLOG = 4096;

    private final String network;
    private final int fd;
    private final SocketAddress address;
    private final Path unixPath;
    private volatile boolean closed;
    private volatile boolean handedOver;

    private Listener(String network, int fd, SocketAddress address, Path unixPath) {
        this.network = network;
        this.fd = fd;
        this.address = address;
        this.unixPath = unixPath;
    }

    /** Binds and listens. Errors: {@link io.netpoll.error.UnsupportedException} for a bad network or address, {@link SyscallException} from the kernel. */
    public static Listener create(String network, String address) throws IOException {
        SocketAddress target = Addresses.resolve(network, address, true).get(0);
        int family = SockAddr.family(target);
        int fd;
        try {
            fd = Sockets.socket(family);
        } catch (SyscallException e) {
            // "tcp" on every address means the dual-stack [::]; on a kernel without IPv6
            // (ipv6.disable=1) that is 0.0.0.0, as Go's listener falls back
            if (e.errno() != Errno.EAFNOSUPPORT || !network.equals("tcp")
                    || !(target instanceof InetSocketAddress i && i.getAddress().isAnyLocalAddress())) {
                throw e;
            }
            target = new InetSocketAddress(InetAddress.getByAddress(new byte[4]), i.getPort());
            family = Linux.AF_INET;
            fd = Sockets.socket(family);
        }
        boolean madeFile = false;
        try {
            if (family != Linux.AF_UNIX) {
                Sockets.setInt(fd, Linux.SOL_SOCKET, Linux.SO_REUSEADDR, 1);
                if (family == Linux.AF_INET6) {
                    Sockets.setInt(fd, Linux.IPPROTO_IPV6, Linux.IPV6_V6ONLY, network.equals("tcp6") ? 1 : 0);
                }
            }
            Sockets.bind(fd, target);
            madeFile = true;
            Sockets.listen(fd, BACKLOG);
            SocketAddress bound = Sockets.localAddress(fd);
            Path path = null;
            if (target instanceof UnixDomainSocketAddress u && !u.getPath().toString().startsWith("@")) {
                path = u.getPath();
                bound = u;
            }
            return new Listener(network, fd, bound, path);
        } catch (IOException | RuntimeException e) {
            Sockets.close(fd);
            if (madeFile && target instanceof UnixDomainSocketAddress u && !u.getPath().toString().startsWith("@")) {
                deleteSocketFile(u.getPath()); // the bind made it: a next create on the path would find it in use
            }
            throw e;
        }
    }

    private static void deleteSocketFile(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort: the socket is closed either way
        }
    }

    /** The bound address (with the real port when created with port 0). */
    public SocketAddress address() {
        return address;
    }

    /** The bound TCP port. */
    public int port() {
        return address instanceof InetSocketAddress i ? i.getPort() : -1;
    }

    /** The network it listens on, as given to {@link #create}: {@code tcp}, {@code tcp4}, {@code tcp6} or {@code unix}. */
    public String network() {
        return network;
    }

    /** True for a unix domain socket. */
    public boolean isUnix() {
        return address instanceof UnixDomainSocketAddress;
    }

    /** For the event loop: the listening fd. */
    public int fd() {
        return fd;
    }

    /** For the event loop: an event loop now owns the fd; its shutdown closes it. */
    public void handOver() {
        if (closed) {
            throw new IllegalStateException("listener is closed");
        }
        if (handedOver) {
            throw new IllegalStateException("listener is already served");
        }
        handedOver = true;
    }

    /**
     * Stops listening and releases the fd (and a unix socket's file). Idempotent. Safe while an event
     * loop serves it: its acceptor takes each connection under this object's lock and stops at a
     * closed listener, so it never accepts on the fd number once this has released it.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Sockets.close(fd);
        if (unixPath != null) {
            deleteSocketFile(unixPath);
        }
    }

    /** True once {@link #close} ran (directly, or by the shutdown of the event loop serving it). */
    public boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "Listener[" + network + " " + address + "]";
    }
}
