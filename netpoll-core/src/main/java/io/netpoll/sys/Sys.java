package io.netpoll.sys;

import io.netpoll.error.UnsupportedPlatformException;

import java.util.Locale;

/**
 * Chooses the {@link LibC} implementation once, at first use, and knows the platform facts the
 * layers above need ({@code struct epoll_event} layout).
 *
 * <p>The implementation is picked by the system property {@code netpoll.libc}: {@code jna} (JNA
 * direct mapping, about 0.1 us a call), {@code ffm} (the JDK 22+ Foreign Function &amp; Memory API, a
 * few ns a call), {@code jdk} (JDK 17-21: {@code read}, {@code readv}, {@code write}, {@code writev}
 * and {@code epoll_wait} through the JDK's own JNI entry points, everything else through JNA; needs
 * {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.io=ALL-UNNAMED}),
 * or {@code auto} (the default: FFM on JDK 22+; before that {@code jdk} when those packages are open,
 * else JNA). Nothing above this class knows which one runs; {@link LibC#name()} says.
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

    /**
     * A separate binding of the given kind ({@code "jna"}, {@code "jdk"} or {@code "ffm"}), for tests and benchmarks
     * that compare them; the layers above always use {@link #libc()}.
     */
    public static LibC create(String impl) {
        libc(); // platform check
        return switch (impl) {
            case "jna" -> new JnaLibC();
            case "ffm" -> Holder.ffm(true);
            case "jdk" -> Holder.jdk();
            default -> throw new IllegalArgumentException("unknown libc binding " + impl + ": jna, jdk or ffm");
        };
    }

    /** The C library binding every layer uses. */
    public static LibC libc() {
        return Holder.LIBC;
    }

    private static final class Holder {
        private static LibC choose(String impl) {
            switch (impl) {
                case "jna":
                    return new JnaLibC();
                case "ffm":
                    return ffm(true);
                case "jdk":
                    return jdk();
                case "auto":
                    LibC f = FfmLibC.available() ? ffm(false) : null;
                    if (f != null) {
                        return f;
                    }
                    return JdkLibC.available() ? new JdkLibC() : new JnaLibC();
                default:
                    throw new IllegalArgumentException("netpoll.libc=" + impl + ": use auto, jna, jdk or ffm");
            }
        }

        private static LibC jdk() {
            if (!JdkLibC.available()) {
                throw new UnsupportedOperationException("netpoll.libc=jdk needs --add-opens java.base/sun.nio.ch=ALL-UNNAMED"
                        + " --add-opens java.base/java.io=ALL-UNNAMED and a JDK whose internals have the expected"
                        + " entry points (17 to 21); this is " + Runtime.version());
            }
            return new JdkLibC();
        }

        private static LibC ffm(boolean required) {
            try {
                if (!FfmLibC.available()) {
                    throw new UnsupportedOperationException("netpoll.libc=ffm needs JDK 22 or newer; this is "
                            + Runtime.version());
                }
                return new FfmLibC();
            } catch (RuntimeException e) {
                if (required) {
                    throw e;
                }
                System.getLogger("io.netpoll.sys").log(System.Logger.Level.WARNING,
                        "FFM binding unavailable, using JNA: " + e);
                return null;
            }
        }

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
            LIBC = choose(System.getProperty("netpoll.libc", "auto"));
        }
    }
}
