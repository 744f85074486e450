package io.netpoll.error;

/**
 * Input broke a size limit the application set (a line, a frame, a header block longer than allowed).
 * Nothing was consumed; the connection is usually closed by the caller, since the stream cannot be
 * resynchronised. Message: {@code "limit exceeded: line longer than 8192 bytes"}.
 */
public final class LimitExceededException extends NetpollException {
    private static final long serialVersionUID = 1L;

    public LimitExceededException(String what, long limit) {
        super("limit exceeded: " + what + " longer than " + limit + " bytes", null);
    }
}
