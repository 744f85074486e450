package io.netpoll.sys;

import io.netpoll.error.UnsupportedException;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Encodes and decodes {@code struct sockaddr} for IPv4 ({@code sockaddr_in}, 16 bytes), IPv6
 * ({@code sockaddr_in6}, 28 bytes) and unix-domain sockets ({@code sockaddr_un}, up to 110 bytes).
 *
 * <p>Unix addresses are {@link UnixDomainSocketAddress}es. As in Go, a path that starts with
 * {@code '@'} names a socket in the <em>abstract</em> namespace (no file; the kernel sees a leading
 * NUL byte), and decoding an abstract address gives back the {@code '@'} form. An unnamed unix
 * socket (a client that never bound) decodes to the empty path.
 */
public final class SockAddr {
    /** {@code sizeof(struct sockaddr_storage)}: room for any address. */
    public static final int STORAGE_SIZE = 128;
    /** {@code sizeof(sun_path)}. */
    public static final int UNIX_PATH_MAX = 108;

    private SockAddr() {
    }

    /** The address family ({@link Linux#AF_INET} ...) the address needs. */
    public static int family(SocketAddress address) throws UnsupportedException {
        if (address instanceof InetSocketAddress inet) {
            InetAddress ip = inet.getAddress();
            if (ip == null) {
                throw new UnsupportedException("unresolved address " + inet.getHostString());
            }
            return ip instanceof Inet4Address ? Linux.AF_INET : Linux.AF_INET6;
        }
        if (address instanceof UnixDomainSocketAddress) {
            return Linux.AF_UNIX;
        }
        throw new UnsupportedException("address type " + address.getClass().getName());
    }

    /**
     * Writes {@code address} as a {@code struct sockaddr} at index 0 of {@code out} (native order,
     * at least {@link #STORAGE_SIZE} bytes) and returns its length in bytes.
     */
    public static int encode(SocketAddress address, ByteBuffer out) throws UnsupportedException {
        for (int i = 0; i < STORAGE_SIZE; i += 8) {
            out.putLong(i, 0L);
        }
        if (address instanceof InetSocketAddress inet) {
            InetAddress ip = inet.getAddress();
            if (ip == null) {
                throw new UnsupportedException("unresolved address " + inet.getHostString());
            }
            int port = inet.getPort();
            if (ip instanceof Inet4Address) {
                out.putShort(0, (short) Linux.AF_INET);
                putPort(out, port);
                out.put(4, ip.getAddress(), 0, 4);
                return 16;
            }
            Inet6Address ip6 = (Inet6Address) ip;
            out.putShort(0, (short) Linux.AF_INET6);
            putPort(out, port);
            out.putInt(4, 0); // sin6_flowinfo
            out.put(8, ip6.getAddress(), 0, 16);
            out.putInt(24, ip6.getScopeId());
            return 28;
        }
        if (address instanceof UnixDomainSocketAddress unix) {
            String path = unix.getPath().toString();
            byte[] bytes;
            boolean isAbstract = path.startsWith("@");
            if (isAbstract) {
                bytes = path.substring(1).getBytes(StandardCharsets.UTF_8);
            } else {
                bytes = path.getBytes(StandardCharsets.UTF_8);
            }
            // abstract: NUL + name (no terminator); path: bytes + NUL terminator
            int pathLen = bytes.length + 1;
            if (pathLen > UNIX_PATH_MAX || path.isEmpty()) {
                throw new UnsupportedException("unix socket path of " + bytes.length
                        + " bytes (1 to " + (UNIX_PATH_MAX - 1) + " allowed): " + path);
            }
            out.putShort(0, (short) Linux.AF_UNIX);
            out.put(isAbstract ? 3 : 2, bytes, 0, bytes.length);
            // the length of an abstract address counts exactly the name's bytes after the NUL
            return 2 + (isAbstract ? bytes.length + 1 : pathLen);
        }
        throw new UnsupportedException("address type " + address.getClass().getName());
    }

    private static void putPort(ByteBuffer out, int port) {
        out.put(2, (byte) (port >>> 8));
        out.put(3, (byte) port);
    }

    /**
     * The address as Go prints it, for messages: {@code 127.0.0.1:8080}, {@code [::1]:8080} (the IPv6
     * host in brackets, no scope name lookup), a unix path, or {@code @name} for an abstract one.
     */
    public static String format(SocketAddress address) {
        if (address instanceof InetSocketAddress i) {
            InetAddress a = i.getAddress();
            String host = a instanceof Inet6Address v6 ? compressed(v6)
                    : a == null ? i.getHostString() : a.getHostAddress();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + i.getPort();
        }
        if (address instanceof UnixDomainSocketAddress u) {
            return u.getPath().toString();
        }
        return String.valueOf(address);
    }

    /** RFC 5952 text of an IPv6 address: lower-case hex, the longest run of two or more zero groups as "::". */
    private static String compressed(Inet6Address a) {
        byte[] b = a.getAddress();
        int[] g = new int[8];
        for (int k = 0; k < 8; k++) {
            g[k] = ((b[2 * k] & 0xff) << 8) | (b[2 * k + 1] & 0xff);
        }
        int bestAt = -1;
        int bestLen = 1;
        for (int k = 0; k < 8; ) {
            int e = k;
            while (e < 8 && g[e] == 0) {
                e++;
            }
            if (e - k > bestLen) {
                bestAt = k;
                bestLen = e - k;
            }
            k = e == k ? k + 1 : e;
        }
        StringBuilder out = new StringBuilder(39);
        for (int k = 0; k < 8; k++) {
            if (k == bestAt) {
                out.append("::");
                k += bestLen - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
                out.append(':');
            }
            out.append(Integer.toHexString(g[k]));
        }
        if (a.getScopeId() != 0) {
            out.append('%').append(a.getScopeId());
        }
        return out.toString();
    }

    /** Reads a {@code struct sockaddr} of {@code length} bytes at index 0 of {@code in}. */
    public static SocketAddress decode(ByteBuffer in, int length) {
        if (length < 2) {
            return UnixDomainSocketAddress.of("");
        }
        int family = in.getShort(0) & 0xffff;
        int port = ((in.get(2) & 0xff) << 8) | (in.get(3) & 0xff);
        try {
            switch (family) {
                case Linux.AF_INET -> {
                    byte[] ip = new byte[4];
                    in.get(4, ip, 0, 4);
                    return new InetSocketAddress(InetAddress.getByAddress(ip), port);
                }
                case Linux.AF_INET6 -> {
                    byte[] ip = new byte[16];
                    in.get(8, ip, 0, 16);
                    int scope = in.getInt(24);
                    InetAddress addr = scope != 0 ? Inet6Address.getByAddress(null, ip, scope) : InetAddress.getByAddress(ip);
                    return new InetSocketAddress(addr, port);
                }
                case Linux.AF_UNIX -> {
                    int n = length - 2;
                    if (n <= 0) {
                        return UnixDomainSocketAddress.of("");
                    }
                    byte[] raw = new byte[n];
                    in.get(2, raw, 0, n);
                    if (raw[0] == 0) {
                        // an abstract name may hold NULs, which no Path can: shown as '@', as ss(8) does
                        String name = new String(raw, 1, n - 1, StandardCharsets.UTF_8).replace('\0', '@');
                        return UnixDomainSocketAddress.of("@" + name);
                    }
                    int end = 0;
                    while (end < n && raw[end] != 0) {
                        end++;
                    }
                    return UnixDomainSocketAddress.of(new String(raw, 0, end, StandardCharsets.UTF_8));
                }
                default -> throw new IllegalArgumentException("unknown address family " + family);
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException("malformed address of family " + family, e);
        }
    }
}
