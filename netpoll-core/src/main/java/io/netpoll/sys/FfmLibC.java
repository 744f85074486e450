package io.netpoll.sys;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.util.Optional;

/**
 * {@link LibC} over the JDK's Foreign Function &amp; Memory API ({@code java.lang.foreign}, final
 * in JDK 22): downcall handles cost a few nanoseconds instead of JNA's ~0.1 us. This class is
 * compiled for Java 17, so it reaches the API by reflection, once per JVM; the calls themselves are
 * plain {@link MethodHandle#invokeExact} on constant handles with primitive arguments (pointers travel
 * as {@code long} addresses, as with JNA), plus one per-thread segment that captures {@code errno}.
 * Chosen by {@link Sys} on JDK 22+ unless {@code -Dnetpoll.libc=jna}.
 */
final class FfmLibC implements LibC {
    /**
     * The downcall handles, in static finals so that the JIT treats them as constants and inlines
     * each call (held in instance fields, every call would go through a non-constant handle and cost
     * several times more). Initialised on first use of this class; an FFM that does not work here
     * fails that initialisation, which {@link FfmLibC#FfmLibC()} reports.
     */
    private static final class H {
        static final MethodHandle EPOLL_CREATE1;
        static final MethodHandle EPOLL_CTL;
        static final MethodHandle EPOLL_WAIT;
        static final MethodHandle EVENTFD;
        static final MethodHandle SOCKET;
        static final MethodHandle SETSOCKOPT;
        static final MethodHandle GETSOCKOPT;
        static final MethodHandle BIND;
        static final MethodHandle LISTEN;
        static final MethodHandle ACCEPT4;
        static final MethodHandle CONNECT;
        static final MethodHandle GETSOCKNAME;
        static final MethodHandle GETPEERNAME;
        static final MethodHandle READ;
        static final MethodHandle READV;
        static final MethodHandle WRITE;
        static final MethodHandle WRITEV;
        static final MethodHandle SHUTDOWN;
        static final MethodHandle CLOSE;
        /** errno in a capture-state segment: coordinates (MemorySegment, long offset). */
        static final VarHandle ERRNO;
        /** Each thread's capture-state segment (a MemorySegment, typed Object: this class is built for Java 17). */
        static final ThreadLocal<Object> CAPTURE;

        static {
            try {
                Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
                Class<?> optionClass = Class.forName("java.lang.foreign.Linker$Option");
                Class<?> segmentClass = Class.forName("java.lang.foreign.MemorySegment");
                Class<?> layoutClass = Class.forName("java.lang.foreign.MemoryLayout");
                Class<?> valueLayoutClass = Class.forName("java.lang.foreign.ValueLayout");
                Class<?> descriptorClass = Class.forName("java.lang.foreign.FunctionDescriptor");
                Class<?> lookupClass = Class.forName("java.lang.foreign.SymbolLookup");
                Class<?> pathClass = Class.forName("java.lang.foreign.MemoryLayout$PathElement");
                Class<?> arenaClass = Class.forName("java.lang.foreign.Arena");

                Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
                Object lookup = linkerClass.getMethod("defaultLookup").invoke(linker);
                Object jInt = valueLayoutClass.getField("JAVA_INT").get(null);
                Object jLong = valueLayoutClass.getField("JAVA_LONG").get(null);
                Object options = Array.newInstance(optionClass, 1);
                Array.set(options, 0, optionClass.getMethod("captureCallState", String[].class)
                        .invoke(null, (Object) new String[] {"errno"}));
                Object stateLayout = optionClass.getMethod("captureStateLayout").invoke(null);
                Object path = Array.newInstance(pathClass, 1);
                Array.set(path, 0, pathClass.getMethod("groupElement", String.class).invoke(null, "errno"));
                ERRNO = (VarHandle) layoutClass.getMethod("varHandle", path.getClass()).invoke(stateLayout, path);
                Method find = lookupClass.getMethod("find", String.class);
                Object layoutArray = Array.newInstance(layoutClass, 0);
                Method of = descriptorClass.getMethod("of", layoutClass, layoutArray.getClass());
                Method downcall = linkerClass.getMethod("downcallHandle", segmentClass, descriptorClass, options.getClass());
                Method ofAuto = arenaClass.getMethod("ofAuto");
                Method allocate = arenaClass.getMethod("allocate", layoutClass);

                Binder b = (name, ret, args) -> {
                    Object layouts = Array.newInstance(layoutClass, args.length);
                    for (int i = 0; i < args.length; i++) {
                        Array.set(layouts, i, args[i] == int.class ? jInt : jLong);
                    }
                    Object fd = of.invoke(null, ret == int.class ? jInt : jLong, layouts);
                    Optional<?> symbol = (Optional<?>) find.invoke(lookup, name);
                    Object addr = symbol.orElseThrow(() -> new NoSuchMethodException("libc symbol " + name));
                    MethodHandle mh = (MethodHandle) downcall.invoke(linker, addr, fd, options);
                    Class<?>[] params = new Class<?>[args.length + 1];
                    params[0] = Object.class;
                    System.arraycopy(args, 0, params, 1, args.length);
                    return mh.asType(MethodType.methodType(ret, params));
                };
                Class<?> i = int.class;
                Class<?> l = long.class;
                EPOLL_CREATE1 = b.bind("epoll_create1", i, i);
                EPOLL_CTL = b.bind("epoll_ctl", i, i, i, i, l);
                EPOLL_WAIT = b.bind("epoll_wait", i, i, l, i, i);
                EVENTFD = b.bind("eventfd", i, i, i);
                SOCKET = b.bind("socket", i, i, i, i);
                SETSOCKOPT = b.bind("setsockopt", i, i, i, i, l, i);
                GETSOCKOPT = b.bind("getsockopt", i, i, i, i, l, l);
                BIND = b.bind("bind", i, i, l, i);
                LISTEN = b.bind("listen", i, i, i);
                ACCEPT4 = b.bind("accept4", i, i, l, l, i);
                CONNECT = b.bind("connect", i, i, l, i);
                GETSOCKNAME = b.bind("getsockname", i, i, l, l);
                GETPEERNAME = b.bind("getpeername", i, i, l, l);
                READ = b.bind("read", l, i, l, l);
                READV = b.bind("readv", l, i, l, i);
                WRITE = b.bind("write", l, i, l, l);
                WRITEV = b.bind("writev", l, i, l, i);
                SHUTDOWN = b.bind("shutdown", i, i, i);
                CLOSE = b.bind("close", i, i);
                CAPTURE = ThreadLocal.withInitial(() -> {
                    try {
                        return allocate.invoke(ofAuto.invoke(null), stateLayout);
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException("cannot allocate the errno capture segment", e);
                    }
                });
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    /** True on a JDK whose FFM API is final (22+). */
    static boolean available() {
        if (Runtime.version().feature() < 22) {
            return false;
        }
        try {
            Class.forName("java.lang.foreign.Linker");
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /** Binds the handles (once per JVM) and checks that a call and its errno work here. */
    FfmLibC() {
        try {
            MethodHandle probe = H.CLOSE;
            assert probe != null;
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            throw new IllegalStateException("FFM binding unavailable: " + (e.getCause() != null ? e.getCause() : e), e);
        }
        // fail now, not at the first I/O, if the handles do not work here
        if (close(-1) != -Errno.EBADF) {
            throw new IllegalStateException("FFM errno capture does not work on this JDK");
        }
    }

    @FunctionalInterface
    private interface Binder {
        MethodHandle bind(String name, Class<?> ret, Class<?>... args) throws ReflectiveOperationException;
    }

    private static int err(Object seg) {
        return (int) H.ERRNO.get(seg, 0L);
    }

    private static IllegalStateException wrap(Throwable t) {
        return new IllegalStateException("native call failed", t);
    }

    @Override
    public int epollCreate1(int flags) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.EPOLL_CREATE1.invokeExact(s, flags);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int epollCtl(int epfd, int op, int fd, long event) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.EPOLL_CTL.invokeExact(s, epfd, op, fd, event);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int epollWait(int epfd, long events, int maxEvents, int timeoutMillis) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.EPOLL_WAIT.invokeExact(s, epfd, events, maxEvents, timeoutMillis);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int eventfd(int initval, int flags) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.EVENTFD.invokeExact(s, initval, flags);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int socket(int domain, int type, int protocol) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.SOCKET.invokeExact(s, domain, type, protocol);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int setsockopt(int fd, int level, int name, long value, int valueLen) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.SETSOCKOPT.invokeExact(s, fd, level, name, value, valueLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int getsockopt(int fd, int level, int name, long value, long valueLen) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.GETSOCKOPT.invokeExact(s, fd, level, name, value, valueLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int bind(int fd, long addr, int addrLen) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.BIND.invokeExact(s, fd, addr, addrLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int listen(int fd, int backlog) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.LISTEN.invokeExact(s, fd, backlog);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int accept4(int fd, long addr, long addrLen, int flags) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.ACCEPT4.invokeExact(s, fd, addr, addrLen, flags);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int connect(int fd, long addr, int addrLen) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.CONNECT.invokeExact(s, fd, addr, addrLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int getsockname(int fd, long addr, long addrLen) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.GETSOCKNAME.invokeExact(s, fd, addr, addrLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int getpeername(int fd, long addr, long addrLen) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.GETPEERNAME.invokeExact(s, fd, addr, addrLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public long read(int fd, long buf, long count) {
        Object s = H.CAPTURE.get();
        try {
            long r = (long) H.READ.invokeExact(s, fd, buf, count);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public long readv(int fd, long iov, int iovcnt) {
        Object s = H.CAPTURE.get();
        try {
            long r = (long) H.READV.invokeExact(s, fd, iov, iovcnt);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public long write(int fd, long buf, long count) {
        Object s = H.CAPTURE.get();
        try {
            long r = (long) H.WRITE.invokeExact(s, fd, buf, count);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public long writev(int fd, long iov, int iovcnt) {
        Object s = H.CAPTURE.get();
        try {
            long r = (long) H.WRITEV.invokeExact(s, fd, iov, iovcnt);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int shutdown(int fd, int how) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.SHUTDOWN.invokeExact(s, fd, how);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int close(int fd) {
        Object s = H.CAPTURE.get();
        try {
            int r = (int) H.CLOSE.invokeExact(s, fd);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public String name() {
        return "ffm";
    }
}
