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
        libc(); // platform check
        return Holder.EPOLL_EVENT_SIZE;
    }

    /** Offset of {@code epoll_event.data} (a 64-bit value): 4 on x86-64, 8 elsewhere. */
    public static int epollDataOffset() {
        libc(); // platform check
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

    /**
     * The C library binding every layer uses. Throws, on every call, a new exception of the type
     * choosing it threw the first time, caused by that one: {@link UnsupportedPlatformException}, or
     * {@link IllegalArgumentException} / {@link UnsupportedOperationException} for a
     * {@code netpoll.libc} that names no binding or one this JVM cannot load (never the JVM's
     * {@code ExceptionInInitializerError} or {@code NoClassDefFoundError} for this class).
     */
    public static LibC libc() {
        LibC c = Holder.LIBC;
        if (c == null) {
            throw Holder.failure();
        }
        return c;
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
        /** The binding, or null when choosing it failed: then {@link #FAILURE} says why. */
        static final LibC LIBC;
        static final RuntimeException FAILURE;

        /** A new exception of {@link #FAILURE}'s type and message, caused by it: each caller gets its own stack trace. */
        static RuntimeException failure() {
            RuntimeException f = FAILURE;
            RuntimeException e;
            if (f instanceof UnsupportedPlatformException) {
                e = new UnsupportedPlatformException(System.getProperty("os.name", "?"), System.getProperty("os.arch", "?"));
            } else if (f instanceof IllegalArgumentException) {
                e = new IllegalArgumentException(f.getMessage());
            } else {
                e = new UnsupportedOperationException(f.getMessage());
            }
            e.initCause(f);
            return e;
        }

        static {
            String os = System.getProperty("os.name", "?");
            String arch = System.getProperty("os.arch", "?");
            int size = 0;
            int offset = 0;
            LibC libc = null;
            RuntimeException failure = null;
            if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
                failure = new UnsupportedPlatformException(os, arch);
            } else {
                switch (arch) {
                    case "amd64", "x86_64" -> {
                        size = 12;
                        offset = 4;
                    }
                    case "aarch64", "arm64" -> {
                        size = 16;
                        offset = 8;
                    }
                    default -> failure = new UnsupportedPlatformException(os, arch);
                }
            }
            if (failure == null) {
                // a RuntimeException thrown out of a static initializer would reach callers as
                // ExceptionInInitializerError, then NoClassDefFoundError: keep it to rethrow on each call
                try {
                    libc = choose(System.getProperty("netpoll.libc", "auto"));
                } catch (RuntimeException e) {
                    failure = e;
                } catch (LinkageError e) { // JNA's native part cannot load (a noexec temp directory, say)
                    failure = new UnsupportedOperationException("netpoll cannot load its libc binding: " + e, e);
                }
            }
            EPOLL_EVENT_SIZE = size;
            EPOLL_DATA_OFFSET = offset;
            LIBC = libc;
            FAILURE = failure;
        }
    }
}
