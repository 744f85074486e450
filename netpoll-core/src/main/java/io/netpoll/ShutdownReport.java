package io.netpoll;

import java.time.Duration;

/**
 * What {@link EventLoop#shutdown} did.
 *
 * @param closedIdle connections that were idle (no handler running, no unread input, nothing queued) and closed at once
 * @param drained    connections whose handlers finished and whose output flushed within the grace period
 * @param forced     connections still busy at the deadline, closed by force
 * @param took       how long the shutdown took
 */
public record ShutdownReport(int closedIdle, int drained, int forced, Duration took) {
}
