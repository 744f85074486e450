package io.netpoll.error;

/**
 * netpoll cannot run here: it needs Linux (epoll) on an architecture whose {@code epoll_event}
 * layout it knows (x86-64, aarch64). Thrown at first use, naming the OS and architecture found.
 */
public final class UnsupportedPlatformException extends UnsupportedOperationException {
    private static final long serialVersionUID = 1L;

    public UnsupportedPlatformException(String os, String arch) {
        super("netpoll needs Linux on x86-64 or aarch64; this is " + os + " on " + arch);
    }
}
