package io.netpoll.poll;

/**
 * The thread a {@link Poller} runs on. It carries slots for per-thread state the layers above keep
 * on pollers (the buffer pool's cache, the buffer layer's node cache), which is cheaper to reach than a {@link ThreadLocal}.
 */
public final class PollerThread extends Thread {
    private final Poller poller;
    /** Owned by the buffer layer; only this thread reads or writes it. */
    public Object bufferCache;
    /** Owned by the buffer layer (its node-object cache); only this thread reads or writes it. */
    public Object nodeCache;
    private final java.util.List<Runnable> exitHooks = new java.util.ArrayList<>();

    PollerThread(Poller poller, String name) {
        super(name);
        this.poller = poller;
        setDaemon(true);
    }

    public Poller poller() {
        return poller;
    }

    /** Runs {@code hook} on this thread when its poller stops (to hand back per-thread state). This thread only. */
    public void onExit(Runnable hook) {
        exitHooks.add(hook);
    }

    @Override
    public void run() {
        try {
            poller.loop();
        } finally {
            for (Runnable hook : exitHooks) {
                try {
                    hook.run();
                } catch (Throwable e) { // one hook's Error must not skip the others (each hands back memory)
                    System.getLogger("io.netpoll.poll").log(System.Logger.Level.ERROR, "exit hook failed", e);
                }
            }
        }
    }
}
