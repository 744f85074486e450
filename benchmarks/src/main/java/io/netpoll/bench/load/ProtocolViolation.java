package io.netpoll.bench.load;

/** The server answered with bytes that are not the echo of what was sent: the run is void. */
final class ProtocolViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ProtocolViolation(String message) {
        super(message, null, false, false);
    }
}
