package io.netpoll.error;

/** A network, address family or option this build does not support, e.g. {@code "unsupported: network udp"}. */
public final class UnsupportedException extends NetpollException {
    private static final long serialVersionUID = 1L;

    public UnsupportedException(String what) {
        super("unsupported: " + what, null);
    }

    /** With the error behind it: the resolver's for an unknown host, the path's for a bad unix path. */
    public UnsupportedException(String what, Throwable cause) {
        super("unsupported: " + what, cause);
    }
}
