package io.netpoll.server;

import io.netpoll.Listener;
import io.netpoll.error.SyscallException;
import io.netpoll.poll.PollDesc;
import io.netpoll.poll.Poller;
import io.netpoll.sys.Errno;
import io.netpoll.sys.LibC;
import io.netpoll.sys.Linux;
import io.netpoll.sys.Sockets;
import io.netpoll.sys.Sys;

import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Accepts connections for one listener on a dedicated acceptor poller, so a burst of connects never
 * delays reads and writes on the connection pollers.
 *
 * <p>On each readiness edge it accepts until {@code EAGAIN} (yielding to the poller after 256 in a
 * row). When the process or system is out of file descriptors ({@code EMFILE}, {@code ENFILE}) or
 * memory ({@code ENOBUFS}, {@code ENOMEM}) it stops, logs once for the episode (at the first refused
 * attempt whose log call succeeds: logging may need a file descriptor too), and retries after 10
 * ms, doubling up to 1 s (back to 10 ms after each accept that succeeds), instead of spinning on a
 * listener that stays readable; the episode ends (logged too) once the backlog is drained, so a limit
 * that flaps while descriptors come and go is one episode, not one per freed descriptor.
 */
public final class Acceptor implements PollDesc.Handler {
    private static final System.Logger LOG = System.getLogger("io.netpoll.server");
    private static final int BATCH = 256;
    private static final long MIN_BACKOFF = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long MAX_BACKOFF = TimeUnit.SECONDS.toNanos(1);

    private final Listener listener;
    private final Poller poller;
    private final IntConsumer onAccepted;
    private final LibC libc = Sys.libc();
    private PollDesc pd;
    // acceptor poller thread only
    private long backoff;
    private boolean retryScheduled;
    private int episodeErrors;
    /** The current episode's "pausing accepts" message was logged (logging can fail when out of fds). */
    private boolean episodeLogged;

    /** {@code onAccepted} receives each new non-blocking fd, on the acceptor poller thread. */
    public Acceptor(Listener listener, Poller poller, IntConsumer onAccepted) {
        this.listener = listener;
        this.poller = poller;
        this.onAccepted = onAccepted;
    }

    public void start() throws SyscallException {
        pd = poller.newDesc(listener.fd(), this);
        poller.add(pd);
    }

    /** Stops accepting and closes the listener (on the acceptor thread, after any accept in progress). */
    public void stop() {
        Runnable r = () -> {
            if (pd != null) {
                pd.close();
            }
            listener.close();
        };
        if (poller.isRunning()) {
            poller.execute(r);
        } else {
            r.run();
        }
    }

    @Override
    public void onEvents(PollDesc pd, int events) {
        if (!retryScheduled) {
            acceptBatch();
        }
    }

    @Override
    public void onPollerClosed(PollDesc pd) {
        pd.close();
        listener.close();
    }

    private void acceptBatch() {
        if (listener.isClosed() || pd.isClosing()) {
            return;
        }
        for (int i = 0; i < BATCH; i++) {
            int fd;
            // under the listener's lock, which its close() takes: a user closing a served listener
            // directly must not let this accept on the number after the kernel gave it to a new file
            synchronized (listener) {
                if (listener.isClosed()) {
                    return;
                }
                fd = libc.accept4(listener.fd(), 0, 0, Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC);
            }
            if (fd >= 0) {
                backoff = 0; // a descriptor came free: if the next accept is refused, retry soon
                deliver(fd);
                continue;
            }
            int errno = -fd;
            switch (errno) {
                case Errno.EAGAIN:
                    if (episodeErrors > 0) {
                        // the backlog is drained: the episode is over (not at the first accept that
                        // succeeds, so a limit that flaps as descriptors come and go logs once)
                        warn(listener + ": accepting again after " + episodeErrors + " refused attempts");
                        episodeErrors = 0;
                        episodeLogged = false;
                    }
                    return;
                case Errno.EINTR, Errno.ECONNABORTED, Errno.EPERM:
                    continue;
                // a pending network error of the connection being accepted, which Linux passes on
                // through accept: accept(2) says to retry as after EAGAIN (the next one may be fine)
                case Errno.EPROTO, Errno.ENETDOWN, Errno.ENOPROTOOPT, Errno.EHOSTDOWN, Errno.ENONET,
                        Errno.EHOSTUNREACH, Errno.EOPNOTSUPP, Errno.ENETUNREACH:
                    continue;
                case Errno.EMFILE, Errno.ENFILE, Errno.ENOBUFS, Errno.ENOMEM:
                    backOff(errno);
                    return;
                default:
                    if (listener.isClosed()) {
                        return;
                    }
                    // anything else (a security module's EACCES, say): retry with back-off, never
                    // stop: the socket is edge-triggered, so connections already queued would wait
                    // for a new one to arrive. The back-off logs the errno once per episode.
                    backOff(errno);
                    return;
            }
        }
        poller.execute(this::acceptMore); // more may be waiting: continue after other work
    }

    /** The rest of a full batch, unless a back-off began meanwhile (its timer continues then). */
    private void acceptMore() {
        if (!retryScheduled) {
            acceptBatch();
        }
    }

    private void deliver(int fd) {
        try {
            if (!listener.isUnix()) {
                Sockets.setInt(fd, Linux.IPPROTO_TCP, Linux.TCP_NODELAY, 1);
            }
            onAccepted.accept(fd);
        } catch (SyscallException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, listener + ": dropping an accepted connection", e);
            Sockets.close(fd);
        }
    }

    private void backOff(int errno) {
        episodeErrors++;
        backoff = backoff == 0 ? MIN_BACKOFF : Math.min(MAX_BACKOFF, backoff * 2);
        retryScheduled = true;
        poller.schedule(System.nanoTime() + backoff, () -> {
            retryScheduled = false;
            acceptBatch();
        });
        if (!episodeLogged) {
            episodeLogged = warn(listener + ": " + Errno.exception("accept4", errno).getMessage()
                    + "; pausing accepts and retrying with back-off (10 ms to 1 s) until it recovers");
        }
    }

    /**
     * Logs; false if logging failed. Out of file descriptors, a logging backend that opens files
     * lazily (JUL's formatter loads the time-zone data on first use) throws, even an Error: that must
     * not stop the back-off, and the message is tried again on the next refused attempt.
     */
    private static boolean warn(String message) {
        try {
            LOG.log(System.Logger.Level.WARNING, message);
            return true;
        } catch (Throwable e) {
            return false;
        }
    }

    /** Refused accepts in the current out-of-resources episode (0 when accepting normally). */
    public int episodeErrors() {
        return episodeErrors;
    }
}
