package io.netpoll.poll;

/**
 * The thread a {@link Poller} runs on. It carries a slot for per-thread state the layers above keep
 * on pollers (the buffer pool's cache), which is cheaper to reach than a {@link ThreadLocal}.
 */
public final class PollerThread extends Thread {
    private final Poller poller;
    /** Owned by the buffer layer; only this thread reads or writes it. */
    public Object bufferCache;

    PollerThread(Poller poller, String name) {
        super(name);
        this.poller = poller;
        setDaemon(true);
    }

    public Poller poller() {
        return poller;
    }

    @Override
    public void run() {
        poller.loop();
    }
}
