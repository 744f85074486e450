package io.netpoll.sys;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link LibC} for JDK 17-21 that makes the calls of the per-request path ({@code read},
 * {@code readv}, {@code write}, {@code writev}, {@code epoll_wait}) through JNI entry points that
 * {@code java.base} already has, and every other call through {@link JnaLibC}. A JNI call into the
 * JDK's own library skips JNA's generic dispatch (libffi, its per-call errno and exception
 * bookkeeping): about 90 ns less a call in {@code NativeCallBench.eventfdWriteRead} on this class
 * of machine (338 against 518 ns for its write and read).
 *
 * <p>The entry points are {@code sun.nio.ch.FileDispatcherImpl.read0/readv0/write0/writev0}
 * (a {@link FileDescriptor}, an address, a length or iovec count) and
 * {@code sun.nio.ch.EPoll.wait}. They return the kernel's count, or one of the JDK's
 * {@code IOStatus} codes for end of stream, EAGAIN and EINTR, and throw an {@link IOException} whose
 * message is {@code strerror(errno)} for any other failure; this class turns the codes and the
 * message back into {@code -errno}, so the {@link LibC} contract holds: failures come back as
 * {@code -errno}, never as exceptions. The descriptor travels in one {@link FileDescriptor} per
 * thread whose {@code fd} field is set before each call.
 *
 * <p>The entry points are internal, so this binding exists only when the application opens two
 * packages to netpoll's module: {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED
 * --add-opens java.base/java.io=ALL-UNNAMED} on the command line, or
 * {@code Add-Opens: java.base/sun.nio.ch java.base/java.io} in an executable jar's manifest.
 * {@link #available()} checks that and that the methods have the expected shape; when either is
 * missing, {@link Sys} uses JNA for everything.
 */
final class JdkLibC implements LibC {
    /** The handles, in static finals so that the JIT inlines each call (see {@link FfmLibC}). */
    private static final class H {
        static final MethodHandle READ0;
        static final MethodHandle READV0;
        static final MethodHandle WRITE0;
        static final MethodHandle WRITEV0;
        static final MethodHandle EPOLL_WAIT;
        /** {@code FileDescriptor.fd}. */
        static final VarHandle FD;
        /** {@code sun.nio.ch.IOStatus}: what the entry points return instead of -1 and errno. */
        static final int IOS_EOF;
        static final int IOS_UNAVAILABLE;
        static final int IOS_INTERRUPTED;
        /** Each thread's descriptor object, re-pointed at the fd of each call. */
        static final ThreadLocal<FileDescriptor> DESCRIPTOR = ThreadLocal.withInitial(FileDescriptor::new);

        static {
            try {
                Class<?> dispatcher = Class.forName("sun.nio.ch.FileDispatcherImpl");
                Class<?> epoll = Class.forName("sun.nio.ch.EPoll");
                Class<?> status = Class.forName("sun.nio.ch.IOStatus");
                MethodHandles.Lookup ch = MethodHandles.privateLookupIn(dispatcher, MethodHandles.lookup());
                MethodType rw = MethodType.methodType(int.class, FileDescriptor.class, long.class, int.class);
                MethodType rwv = MethodType.methodType(long.class, FileDescriptor.class, long.class, int.class);
                READ0 = ch.findStatic(dispatcher, "read0", rw);
                WRITE0 = ch.findStatic(dispatcher, "write0", rw);
                READV0 = ch.findStatic(dispatcher, "readv0", rwv);
                WRITEV0 = ch.findStatic(dispatcher, "writev0", rwv);
                EPOLL_WAIT = MethodHandles.privateLookupIn(epoll, MethodHandles.lookup()).findStatic(epoll, "wait",
                        MethodType.methodType(int.class, int.class, long.class, int.class, int.class));
                FD = MethodHandles.privateLookupIn(FileDescriptor.class, MethodHandles.lookup())
                        .findVarHandle(FileDescriptor.class, "fd", int.class);
                IOS_EOF = status.getField("EOF").getInt(null);
                IOS_UNAVAILABLE = status.getField("UNAVAILABLE").getInt(null);
                IOS_INTERRUPTED = status.getField("INTERRUPTED").getInt(null);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    /** strerror text to errno, built on the first failure that needs it. */
    private static final class Messages {
        static final Map<String, Integer> ERRNO = new HashMap<>();

        static {
            for (int e = 1; e < 134; e++) {
                String text = JnaLibC.strerror(e);
                if (text != null) {
                    ERRNO.putIfAbsent(text, e);
                }
            }
        }
    }

    /** Everything that is not on the per-request path. */
    private final JnaLibC jna = new JnaLibC();

    /**
     * Whether this JVM lets netpoll use the JDK entry points: both packages open to this class's
     * module, and the methods there with the shape this class expects (JDK 17 to 21 have them).
     */
    static boolean available() {
        Module base = Object.class.getModule();
        Module self = JdkLibC.class.getModule();
        if (!base.isOpen("sun.nio.ch", self) || !base.isOpen("java.io", self)) {
            return false;
        }
        try {
            return H.READ0 != null;
        } catch (LinkageError e) {
            return false;
        }
    }

    private static FileDescriptor descriptor(int fd) {
        FileDescriptor d = H.DESCRIPTOR.get();
        H.FD.set(d, fd);
        return d;
    }

    /** {@code -errno} for the IOException a JDK entry point threw (its message is strerror's text). */
    static int errno(IOException e) {
        String m = e.getMessage();
        if (m == null) {
            return -Errno.EIO;
        }
        Integer n = Messages.ERRNO.get(m);
        if (n == null && m.lastIndexOf(": ") >= 0) { // "detail: strerror text", as some JDKs format it
            n = Messages.ERRNO.get(m.substring(m.lastIndexOf(": ") + 2));
        }
        return -(n != null ? n : Errno.EIO);
    }

    /** The kernel's convention for a status code: end of stream is 0, EAGAIN and EINTR are -errno. */
    private static long status(long n, boolean reading) {
        if (n >= 0) {
            return n;
        }
        if (n == H.IOS_UNAVAILABLE) {
            return -Errno.EAGAIN;
        }
        if (n == H.IOS_INTERRUPTED) {
            return -Errno.EINTR;
        }
        if (n == H.IOS_EOF && reading) {
            return 0;
        }
        throw new IllegalStateException("unexpected status " + n + " from a JDK I/O entry point");
    }

    @Override public long read(int fd, long buf, long count) {
        try {
            return status((int) H.READ0.invokeExact(descriptor(fd), buf, (int) Math.min(count, Integer.MAX_VALUE)), true);
        } catch (IOException e) {
            return errno(e);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override public long readv(int fd, long iov, int iovcnt) {
        try {
            return status((long) H.READV0.invokeExact(descriptor(fd), iov, iovcnt), true);
        } catch (IOException e) {
            return errno(e);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override public long write(int fd, long buf, long count) {
        try {
            return status((int) H.WRITE0.invokeExact(descriptor(fd), buf, (int) Math.min(count, Integer.MAX_VALUE)), false);
        } catch (IOException e) {
            return errno(e);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override public long writev(int fd, long iov, int iovcnt) {
        try {
            return status((long) H.WRITEV0.invokeExact(descriptor(fd), iov, iovcnt), false);
        } catch (IOException e) {
            return errno(e);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override public int epollWait(int epfd, long events, int maxEvents, int timeoutMillis) {
        try {
            return (int) status((int) H.EPOLL_WAIT.invokeExact(epfd, events, maxEvents, timeoutMillis), false);
        } catch (IOException e) {
            return errno(e);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected checked exception from a JDK entry point", t);
    }

    @Override public int epollCreate1(int flags) { return jna.epollCreate1(flags); }

    @Override public int epollCtl(int epfd, int op, int fd, long event) { return jna.epollCtl(epfd, op, fd, event); }

    @Override public int eventfd(int initval, int flags) { return jna.eventfd(initval, flags); }

    @Override public int socket(int domain, int type, int protocol) { return jna.socket(domain, type, protocol); }

    @Override public int setsockopt(int fd, int level, int name, long value, int valueLen) {
        return jna.setsockopt(fd, level, name, value, valueLen);
    }

    @Override public int getsockopt(int fd, int level, int name, long value, long valueLen) {
        return jna.getsockopt(fd, level, name, value, valueLen);
    }

    @Override public int bind(int fd, long addr, int addrLen) { return jna.bind(fd, addr, addrLen); }

    @Override public int listen(int fd, int backlog) { return jna.listen(fd, backlog); }

    @Override public int accept4(int fd, long addr, long addrLen, int flags) { return jna.accept4(fd, addr, addrLen, flags); }

    @Override public int connect(int fd, long addr, int addrLen) { return jna.connect(fd, addr, addrLen); }

    @Override public int getsockname(int fd, long addr, long addrLen) { return jna.getsockname(fd, addr, addrLen); }

    @Override public int getpeername(int fd, long addr, long addrLen) { return jna.getpeername(fd, addr, addrLen); }

    @Override public int shutdown(int fd, int how) { return jna.shutdown(fd, how); }

    @Override public int close(int fd) { return jna.close(fd); }

    @Override public String name() { return "jdk-jni"; }
}
