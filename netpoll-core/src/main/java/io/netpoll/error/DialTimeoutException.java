package io.netpoll.error;

/** A connect did not complete before the dial timeout; the half-open socket was closed. */
public final class DialTimeoutException extends IoTimeoutException {
    private static final long serialVersionUID = 1L;

    public DialTimeoutException() {
        super("dial timeout");
    }
}
