package io.netpoll.conn;

import io.netpoll.error.UnsupportedException;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.InvalidPathException;
import java.util.ArrayList;
import java.util.List;

/**
 * Go-style network names and addresses: {@code tcp}, {@code tcp4}, {@code tcp6} with
 * {@code "host:port"}, {@code "[v6]:port"} or {@code ":port"}; {@code unix} with a path or an
 * {@code "@abstract"} name.
 */
public final class Addresses {
    private Addresses() {
    }

    public static boolean isUnix(String network) throws UnsupportedException {
        return switch (network) {
            case "unix" -> true;
            case "tcp", "tcp4", "tcp6" -> false;
            default -> throw new UnsupportedException("network " + network);
        };
    }

    /**
     * True when resolving {@code address} on {@code network} may ask a name service (a host name, not
     * an IP literal, an empty host or a unix path), which can block for seconds: callers on a thread
     * that must not block (a poller) resolve such an address elsewhere. Malformed addresses: false
     * ({@link #resolve} rejects them at once).
     */
    public static boolean needsLookup(String network, String address) {
        if (!network.startsWith("tcp")) {
            return false;
        }
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            return false;
        }
        String host = address.substring(0, colon);
        if (host.isEmpty()) {
            return false; // loopback or the wildcard
        }
        if (host.startsWith("[") && host.endsWith("]") && host.indexOf(':') >= 0) {
            return false; // an IPv6 literal (a zone id names an interface: no name service)
        }
        return !isDottedQuad(host); // anything else may reach the name service, even malformed
    }

    /** Four decimal numbers 0-255 without leading zeros, joined by dots: an IPv4 literal for certain. */
    private static boolean isDottedQuad(String host) {
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return false;
            }
            for (int i = 0; i < p.length(); i++) {
                if (p.charAt(i) < '0' || p.charAt(i) > '9') {
                    return false;
                }
            }
            if (Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }

    /**
     * Every address {@code address} names on {@code network}, in resolver order (IPv4 only for tcp4,
     * IPv6 only for tcp6). An empty host means the wildcard address when {@code listen}, else loopback.
     */
    public static List<SocketAddress> resolve(String network, String address, boolean listen) throws IOException {
        if (isUnix(network)) {
            try {
                return List.of(UnixDomainSocketAddress.of(address));
            } catch (InvalidPathException e) {
                throw new UnsupportedException("unix address " + address.replace("\0", "\\0"), e);
            }
        }
        int colon = address.lastIndexOf(':');
        if (colon < 0) {
            throw new UnsupportedException("address without a port: " + address);
        }
        String host = address.substring(0, colon);
        String digits = address.substring(colon + 1);
        if (digits.isEmpty() || !digits.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            // no sign, no blank: "+80" is no port; "[::1]" (no port) ends up here too
            throw new UnsupportedException("port in " + address);
        }
        int port;
        try {
            port = Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw new UnsupportedException("port in " + address);
        }
        if (port > 65535) {
            throw new UnsupportedException("port " + port);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            // as Go's SplitHostPort: "1::2:80" could be host 1::2 port 80 or host 1::2:80, no port
            throw new UnsupportedException("IPv6 address without brackets in " + address + ": write [host]:port");
        }
        List<InetAddress> ips = new ArrayList<>();
        if (host.isEmpty()) {
            if (listen) {
                ips.add(InetAddress.getByName(network.equals("tcp4") ? "0.0.0.0" : "::"));
            } else {
                ips.add(InetAddress.getByName(network.equals("tcp6") ? "::1" : "127.0.0.1"));
            }
        } else {
            try {
                for (InetAddress ip : InetAddress.getAllByName(host)) {
                    ips.add(ip);
                }
            } catch (UnknownHostException e) {
                throw new UnsupportedException("unknown host " + host, e); // the cause tells a failed lookup from a name that does not exist
            }
        }
        List<SocketAddress> out = new ArrayList<>();
        for (InetAddress ip : ips) {
            boolean v4 = ip instanceof Inet4Address;
            boolean v6 = ip instanceof Inet6Address;
            if (network.equals("tcp4") && !v4 || network.equals("tcp6") && !v6) {
                continue;
            }
            out.add(new InetSocketAddress(ip, port));
        }
        if (out.isEmpty()) {
            throw new UnsupportedException("no " + network + " address for " + address);
        }
        return out;
    }
}
