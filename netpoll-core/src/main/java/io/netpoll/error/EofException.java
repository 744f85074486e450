package io.netpoll.error;

/**
 * The peer has finished sending (it shut down its write side or closed) and every byte it sent has
 * already been read; or a non-blocking buffer was asked for more bytes than it holds.
 */
public final class EofException extends NetpollException {
    private static final long serialVersionUID = 1L;

    public EofException() {
        super("EOF", null);
    }

    /** For buffers: {@code "EOF: need 10 bytes, 4 available"}. */
    public EofException(long needed, long available) {
        super("EOF: need " + needed + " bytes, " + available + " available", null);
    }
}
