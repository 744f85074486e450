package io.netpoll.error;

/** The read deadline passed while waiting for bytes. The connection stays usable. */
public final class ReadTimeoutException extends IoTimeoutException {
    private static final long serialVersionUID = 1L;

    public ReadTimeoutException() {
        super("read timeout");
    }
}
