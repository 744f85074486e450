package io.netpoll.bench.peers;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.ThreadFactory;

/**
 * Framed echo on JDK blocking sockets, one virtual thread per connection; the JDK's own poller parks
 * and wakes them. Needs JDK 21+ at run time. This module compiles for release 17, so the virtual
 * thread factory ({@code Thread.ofVirtual().factory()}) is looked up once through method handles.
 * Usage: {@code VirtualThreadEcho PORT}.
 */
public final class VirtualThreadEcho {
    private VirtualThreadEcho() {}

    public static void main(String[] args) throws Throwable {
        BlockingEcho.serve(Integer.parseInt(args[0]), virtualThreadFactory(), "virtual-thread");
    }

    static ThreadFactory virtualThreadFactory() throws Throwable {
        Class<?> builder;
        try {
            builder = Class.forName("java.lang.Thread$Builder$OfVirtual");
        } catch (ClassNotFoundException e) {
            throw new UnsupportedOperationException("virtual threads need JDK 21 or newer; this is "
                    + System.getProperty("java.version"), e);
        }
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        MethodHandle ofVirtual = lookup.findStatic(Thread.class, "ofVirtual", MethodType.methodType(builder));
        MethodHandle factory = lookup.findVirtual(Class.forName("java.lang.Thread$Builder"), "factory",
                MethodType.methodType(ThreadFactory.class));
        Object b = ofVirtual.invoke();
        return (ThreadFactory) factory.invoke(b);
    }
}
