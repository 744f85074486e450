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
 * compiled for Java 17, so it reaches the API by reflection once, at construction; the calls
 * themselves are plain {@link MethodHandle#invokeExact} with primitive arguments (pointers travel
 * as {@code long} addresses, as with JNA), plus one per-thread segment that captures {@code errno}.
 * Chosen by {@link Sys} on JDK 22+ unless {@code -Dnetpoll.libc=jna}.
 */
final class FfmLibC implements LibC {
    private final MethodHandle epollCreate1;
    private final MethodHandle epollCtl;
    private final MethodHandle epollWait;
    private final MethodHandle eventfd;
    private final MethodHandle socket;
    private final MethodHandle setsockopt;
    private final MethodHandle getsockopt;
    private final MethodHandle bind;
    private final MethodHandle listen;
    private final MethodHandle accept4;
    private final MethodHandle connect;
    private final MethodHandle getsockname;
    private final MethodHandle getpeername;
    private final MethodHandle read;
    private final MethodHandle readv;
    private final MethodHandle write;
    private final MethodHandle writev;
    private final MethodHandle shutdown;
    private final MethodHandle close;
    /** errno in a capture-state segment: coordinates (MemorySegment, long offset). */
    private final VarHandle errno;
    private final ThreadLocal<Object> capture;

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

    FfmLibC() throws ReflectiveOperationException {
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
        errno = (VarHandle) layoutClass.getMethod("varHandle", path.getClass()).invoke(stateLayout, path);
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
        epollCreate1 = b.bind("epoll_create1", i, i);
        epollCtl = b.bind("epoll_ctl", i, i, i, i, l);
        epollWait = b.bind("epoll_wait", i, i, l, i, i);
        eventfd = b.bind("eventfd", i, i, i);
        socket = b.bind("socket", i, i, i, i);
        setsockopt = b.bind("setsockopt", i, i, i, i, l, i);
        getsockopt = b.bind("getsockopt", i, i, i, i, l, l);
        bind = b.bind("bind", i, i, l, i);
        listen = b.bind("listen", i, i, i);
        accept4 = b.bind("accept4", i, i, l, l, i);
        connect = b.bind("connect", i, i, l, i);
        getsockname = b.bind("getsockname", i, i, l, l);
        getpeername = b.bind("getpeername", i, i, l, l);
        read = b.bind("read", l, i, l, l);
        readv = b.bind("readv", l, i, l, i);
        write = b.bind("write", l, i, l, l);
        writev = b.bind("writev", l, i, l, i);
        shutdown = b.bind("shutdown", i, i, i);
        close = b.bind("close", i, i);
        capture = ThreadLocal.withInitial(() -> {
            try {
                return allocate.invoke(ofAuto.invoke(null), stateLayout);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot allocate the errno capture segment", e);
            }
        });
        // fail now, not at the first I/O, if the handles do not work here
        if (close(-1) != -Errno.EBADF) {
            throw new IllegalStateException("FFM errno capture does not work on this JDK");
        }
    }

    @FunctionalInterface
    private interface Binder {
        MethodHandle bind(String name, Class<?> ret, Class<?>... args) throws ReflectiveOperationException;
    }

    private int err(Object seg) {
        return (int) errno.get(seg, 0L);
    }

    private static IllegalStateException wrap(Throwable t) {
        return new IllegalStateException("native call failed", t);
    }

    @Override
    public int epollCreate1(int flags) {
        Object s = capture.get();
        try {
            int r = (int) epollCreate1.invokeExact(s, flags);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int epollCtl(int epfd, int op, int fd, long event) {
        Object s = capture.get();
        try {
            int r = (int) epollCtl.invokeExact(s, epfd, op, fd, event);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int epollWait(int epfd, long events, int maxEvents, int timeoutMillis) {
        Object s = capture.get();
        try {
            int r = (int) epollWait.invokeExact(s, epfd, events, maxEvents, timeoutMillis);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int eventfd(int initval, int flags) {
        Object s = capture.get();
        try {
            int r = (int) eventfd.invokeExact(s, initval, flags);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int socket(int domain, int type, int protocol) {
        Object s = capture.get();
        try {
            int r = (int) socket.invokeExact(s, domain, type, protocol);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int setsockopt(int fd, int level, int name, long value, int valueLen) {
        Object s = capture.get();
        try {
            int r = (int) setsockopt.invokeExact(s, fd, level, name, value, valueLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int getsockopt(int fd, int level, int name, long value, long valueLen) {
        Object s = capture.get();
        try {
            int r = (int) getsockopt.invokeExact(s, fd, level, name, value, valueLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int bind(int fd, long addr, int addrLen) {
        Object s = capture.get();
        try {
            int r = (int) bind.invokeExact(s, fd, addr, addrLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int listen(int fd, int backlog) {
        Object s = capture.get();
        try {
            int r = (int) listen.invokeExact(s, fd, backlog);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int accept4(int fd, long addr, long addrLen, int flags) {
        Object s = capture.get();
        try {
            int r = (int) accept4.invokeExact(s, fd, addr, addrLen, flags);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int connect(int fd, long addr, int addrLen) {
        Object s = capture.get();
        try {
            int r = (int) connect.invokeExact(s, fd, addr, addrLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int getsockname(int fd, long addr, long addrLen) {
        Object s = capture.get();
        try {
            int r = (int) getsockname.invokeExact(s, fd, addr, addrLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int getpeername(int fd, long addr, long addrLen) {
        Object s = capture.get();
        try {
            int r = (int) getpeername.invokeExact(s, fd, addr, addrLen);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public long read(int fd, long buf, long count) {
        Object s = capture.get();
        try {
            long r = (long) read.invokeExact(s, fd, buf, count);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public long readv(int fd, long iov, int iovcnt) {
        Object s = capture.get();
        try {
            long r = (long) readv.invokeExact(s, fd, iov, iovcnt);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public long write(int fd, long buf, long count) {
        Object s = capture.get();
        try {
            long r = (long) write.invokeExact(s, fd, buf, count);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public long writev(int fd, long iov, int iovcnt) {
        Object s = capture.get();
        try {
            long r = (long) writev.invokeExact(s, fd, iov, iovcnt);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int shutdown(int fd, int how) {
        Object s = capture.get();
        try {
            int r = (int) shutdown.invokeExact(s, fd, how);
            return r < 0 ? -err(s) : r;
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    @Override
    public int close(int fd) {
        Object s = capture.get();
        try {
            int r = (int) close.invokeExact(s, fd);
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
