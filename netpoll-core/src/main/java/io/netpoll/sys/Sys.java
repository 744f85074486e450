package io.netpoll.sys;

import io.netpoll.error.UnsupportedPlatformException;

import java.util.Locale;

/**
 * Chooses the {@link LibC} implementation once, at first use, and knows the platform facts the
 * layers above need ({@code struct epoll_event} layout).
 *
 * <p>The implementation is picked by the system property {@code netpoll.libc}; today the only
 * value is {@code jna} (JNA direct mapping), which is also the default. A JDK 22+ FFM
 * implementation plugs in here without touching any other layer.
 *
 * <p>On a platform netpoll does not support (not Linux, or an architecture whose
 * {@code epoll_event} layout is unknown) the first call throws {@link UnsupportedPlatformException}
 * naming the OS and architecture.
 */
public final class Sys {
    private Sys() {
    }

    /** {@code sizeof(struct epoll_event)}: 12 on x86-64, where the struct is packed; 16 elsewhere. */
    public static int epollEventSize() {
        return Holder.EPOLL_EVENT_SIZE;
    }

    /** Offset of {@code epoll_event.data} (a 64-bit value): 4 on x86-64, 8 elsewhere. */
    public static int epollDataOffset() {
        return Holder.EPOLL_DATA_OFFSET;
    }

    /** The C library binding every layer uses. */
    public static LibC libc() {
        return Holder.LIBC;
    }

    private static final class Holder {
        static final int EPOLL_EVENT_SIZE;
        static final int EPOLL_DATA_OFFSET;
        static final LibC LIBC;

        static {
            String os = System.getProperty("os.name", "?");
            String arch = System.getProperty("os.arch", "?");
            if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
                throw new UnsupportedPlatformException(os, arch);
            }
            switch (arch) {
                case "amd64", "x86_64" -> {
                    EPOLL_EVENT_SIZE = 12;
                    EPOLL_DATA_OFFSET = 4;
                }
                case "aarch64", "arm64" -> {
                    EPOLL_EVENT_SIZE = 16;
                    EPOLL_DATA_OFFSET = 8;
                }
                default -> throw new UnsupportedPlatformException(os, arch);
            }
            String impl = System.getProperty("netpoll.libc", "jna");
            if (!impl.equals("jna")) {
                throw new IllegalArgumentException("netpoll.libc=" + impl + ": the only implementation is 'jna'");
            }
            LIBC = new JnaLibC();
        }
    }
}
