package io.netpoll.error;

/**
 * The write deadline passed while waiting for the socket to take more bytes. Bytes already queued
 * stay queued and are still sent if the peer starts reading again. The connection stays usable.
 */
public final class WriteTimeoutException extends IoTimeoutException {
    private static final long serialVersionUID = 1L;

    public WriteTimeoutException() {
        super("write timeout");
    }
}
