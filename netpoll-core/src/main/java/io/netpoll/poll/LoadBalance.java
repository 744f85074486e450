package io.netpoll.poll;

/** How a {@link PollerGroup} places a new connection on one of its pollers. */
public enum LoadBalance {
    /** Each new connection goes to the next poller in turn: even spread, the default. */
    ROUND_ROBIN,
    /** A uniformly random poller: no shared counter between accepting threads. */
    RANDOM
}
