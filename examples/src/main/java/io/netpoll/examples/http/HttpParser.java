package io.netpoll.examples.http;

import io.netpoll.buffer.Reader;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An HTTP/1.x request parser that works straight on netpoll's {@link Reader} (a connection's input
 * {@link io.netpoll.buffer.LinkBuffer}), one request after another, for keep-alive and pipelining.
 *
 * <p><b>Zero copy.</b> The head (request line and headers) is located with {@link Reader#indexOf}
 * (one call per line, resuming where the previous call stopped, so input that trickles in is scanned
 * once), then read through a single {@link Reader#peek} view (pointing into the buffer's memory when
 * the head lies in one node, the common case) and consumed with {@link Reader#skip}. Only the method and
 * the request target are copied (into Strings); header values are compared in place. A body
 * ({@code Content-Length}) is skipped as it arrives, never buffered.
 *
 * <p><b>Limits</b> (so a connection never buffers more than {@link #maxHead} bytes for a request):
 * <ul>
 *   <li>request line longer than {@code maxHead} (default {@value #DEFAULT_MAX_HEAD} bytes): 414;</li>
 *   <li>head (request line + headers + blank line) longer than {@code maxHead}, or more than
 *       {@value #MAX_HEADERS} header lines: 431;</li>
 *   <li>{@code Content-Length} over {@code maxBody} (default 64 MiB): 413.</li>
 * </ul>
 *
 * <p><b>Errors</b> (sticky: after one, {@link #parse} keeps returning {@link #ERROR}): 400 for a malformed
 * request line (method not a token, target empty or with spaces or control bytes, version not
 * {@code HTTP/d.d}), a header line without a colon, whitespace before the colon, obsolete line folding,
 * control bytes in a value, a malformed or conflicting {@code Content-Length}, an HTTP/1.1 request without
 * exactly one {@code Host}, and {@code Transfer-Encoding} together with {@code Content-Length}; 501 for
 * {@code Transfer-Encoding} (chunked request bodies are not supported by this small server); 505 for
 * a version other than 1.x. Lines may end in CRLF or a bare LF; one or more empty lines before a request
 * line are ignored (RFC 9112 section 2.2).
 *
 * <p>Not thread-safe: one parser per connection. Usable on any Reader: the server passes its
 * connection's reader on the poller thread (calls never wait there because the parser never asks for
 * more than {@link Reader#len()}); tests pass a plain {@link io.netpoll.buffer.LinkBuffer}.
 */
public final class HttpParser {
    /** Default limit on the request head, in bytes: 8 KiB. */
    public static final int DEFAULT_MAX_HEAD = 8 << 10;
    /** Default limit on a request body, in bytes: 64 MiB (skipped, never buffered). */
    public static final long DEFAULT_MAX_BODY = 64L << 20;
    /** At most this many header lines. */
    public static final int MAX_HEADERS = 100;

    /** The buffered input holds no complete request yet (and is within the limits). */
    public static final int NEED_MORE = 0;
    /** A request (head and body) was consumed; see {@link #method()}, {@link #target()}, ... */
    public static final int REQUEST = 1;
    /** The input is not acceptable; see {@link #errorStatus()}. The connection must be closed. */
    public static final int ERROR = 2;

    private static final boolean[] TCHAR = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    private static final byte[] CONTENT_LENGTH = bytes("content-length");
    private static final byte[] TRANSFER_ENCODING = bytes("transfer-encoding");
    private static final byte[] CONNECTION = bytes("connection");
    private static final byte[] HOST = bytes("host");
    private static final byte[] CLOSE = bytes("close");
    private static final byte[] KEEP_ALIVE = bytes("keep-alive");
    private static final byte[] GET = bytes("GET");
    private static final byte[] HEAD = bytes("HEAD");

    private final int maxHead;
    private final long maxBody;

    // head scanning state (offsets into the unconsumed input)
    private final int[] lineEnds = new int[MAX_HEADERS + 1];
    private int lines;
    private int scanned;
    private boolean inProgress;
    /** Bytes of body still to skip; -1 when not in a body. */
    private long bodyLeft = -1;

    // the last request
    private String method;
    private String target;
    private int minorVersion;
    private boolean keepAlive;
    private long contentLength;

    // the error, once there is one
    private int errorStatus;
    private String errorReason;

    public HttpParser() {
        this(DEFAULT_MAX_HEAD, DEFAULT_MAX_BODY);
    }

    public HttpParser(int maxHead, long maxBody) {
        if (maxHead < 16 || maxBody < 0) {
            throw new IllegalArgumentException("maxHead must be at least 16 and maxBody not negative");
        }
        this.maxHead = maxHead;
        this.maxBody = maxBody;
    }

    /**
     * Parses the next request from {@code in}: {@link #REQUEST} once its head and body have been
     * consumed, {@link #NEED_MORE} when the input ends first (nothing beyond what was checked is
     * consumed; call again with more input), {@link #ERROR} for input that breaks the rules above.
     * Never asks {@code in} for more than {@link Reader#len()}.
     */
    public int parse(Reader in) throws IOException {
        if (errorStatus != 0) {
            return ERROR;
        }
        if (bodyLeft >= 0) {
            return skipBody(in);
        }
        int len = in.len();
        if (len > 0) {
            inProgress = true;
        }
        for (;;) {
            int nl = scanned < len ? in.indexOf((byte) '\n', scanned) : -1;
            if (nl < 0) {
                scanned = len;
                if (len > maxHead) {
                    return tooLarge();
                }
                return NEED_MORE;
            }
            if (nl >= maxHead) {
                return tooLarge();
            }
            int start = lines == 0 ? 0 : lineEnds[lines - 1] + 1;
            boolean empty = nl == start || nl == start + 1 && in.peekByte(start) == '\r';
            if (empty && lines == 0) {
                in.skip(nl + 1); // an empty line before the request line: ignored
                len -= nl + 1;
                scanned = 0;
                continue;
            }
            if (empty) {
                return head(in, nl + 1);
            }
            if (lines == lineEnds.length) {
                return error(431, "more than " + MAX_HEADERS + " header lines");
            }
            lineEnds[lines++] = nl;
            scanned = nl + 1;
        }
    }

    private int tooLarge() {
        return lines == 0
                ? error(414, "request line longer than " + maxHead + " bytes")
                : error(431, "request head longer than " + maxHead + " bytes");
    }

    private int skipBody(Reader in) throws IOException {
        int n = (int) Math.min(in.len(), bodyLeft);
        if (n > 0) {
            in.skip(n);
            bodyLeft -= n;
        }
        if (bodyLeft > 0) {
            return NEED_MORE;
        }
        bodyLeft = -1;
        inProgress = false;
        return REQUEST;
    }

    /** The head is complete: {@code headLen} bytes, {@link #lines} lines before the blank one. */
    private int head(Reader in, int headLen) throws IOException {
        ByteBuffer h = in.peek(headLen);
        int r = requestLine(h, lineEnd(h, 0, lineEnds[0]));
        if (r != 0) {
            return r;
        }
        long length = -1;
        boolean transferEncoding = false;
        boolean close = false;
        boolean keep = false;
        int hosts = 0;
        for (int k = 1; k < lines; k++) {
            int start = lineEnds[k - 1] + 1;
            int end = lineEnd(h, start, lineEnds[k]);
            if (end < 0) {
                return error(400, "bare CR in a header line");
            }
            byte first = h.get(start);
            if (first == ' ' || first == '\t') {
                return error(400, "obsolete header line folding");
            }
            int colon = start;
            while (colon < end && TCHAR[h.get(colon) & 0xff]) {
                colon++;
            }
            if (colon == end) {
                return error(400, "header line without a colon");
            }
            if (h.get(colon) != ':' || colon == start) {
                return error(400, "invalid header name");
            }
            int vs = colon + 1;
            int ve = end;
            while (vs < ve && isOws(h.get(vs))) {
                vs++;
            }
            while (ve > vs && isOws(h.get(ve - 1))) {
                ve--;
            }
            for (int i = vs; i < ve; i++) {
                int c = h.get(i) & 0xff;
                if (c < 0x20 && c != '\t' || c == 0x7f) {
                    return error(400, "control byte in a header value");
                }
            }
            int nameLen = colon - start;
            if (nameIs(h, start, nameLen, CONTENT_LENGTH)) {
                long v = parseLength(h, vs, ve);
                if (v < 0 || length >= 0 && v != length) {
                    return error(400, "invalid or conflicting Content-Length");
                }
                length = v;
            } else if (nameIs(h, start, nameLen, TRANSFER_ENCODING)) {
                transferEncoding = true;
            } else if (nameIs(h, start, nameLen, CONNECTION)) {
                int t = vs;
                while (t < ve) {
                    int comma = t;
                    while (comma < ve && h.get(comma) != ',') {
                        comma++;
                    }
                    int ts = t;
                    int te = comma;
                    while (ts < te && isOws(h.get(ts))) {
                        ts++;
                    }
                    while (te > ts && isOws(h.get(te - 1))) {
                        te--;
                    }
                    close |= nameIs(h, ts, te - ts, CLOSE);
                    keep |= nameIs(h, ts, te - ts, KEEP_ALIVE);
                    t = comma + 1;
                }
            } else if (nameIs(h, start, nameLen, HOST)) {
                hosts++;
            }
        }
        if (minorVersion == 1 && hosts != 1) {
            return error(400, hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host header");
        }
        if (transferEncoding) {
            return length >= 0
                    ? error(400, "both Transfer-Encoding and Content-Length")
                    : error(501, "Transfer-Encoding is not supported");
        }
        if (length > maxBody) {
            return error(413, "Content-Length " + length + " over the limit of " + maxBody);
        }
        in.skip(headLen);
        lines = 0;
        scanned = 0;
        contentLength = Math.max(0, length);
        keepAlive = !close && (minorVersion == 1 || keep);
        bodyLeft = contentLength;
        return skipBody(in);
    }

    /** Parses the request line in {@code h[0, end)}; 0 when fine, else the error result. */
    private int requestLine(ByteBuffer h, int end) {
        if (end < 0) {
            return error(400, "bare CR in the request line");
        }
        int i = 0;
        while (i < end && TCHAR[h.get(i) & 0xff]) {
            i++;
        }
        if (i == 0 || i == end || h.get(i) != ' ') {
            return error(400, "malformed request line (method)");
        }
        int methodEnd = i++;
        int ts = i;
        while (i < end) {
            int c = h.get(i) & 0xff;
            if (c <= 0x20 || c >= 0x7f) {
                break;
            }
            i++;
        }
        if (i == ts || i == end || h.get(i) != ' ') {
            return error(400, "malformed request line (target)");
        }
        int te = i++;
        if (end - i != 8 || h.get(i) != 'H' || h.get(i + 1) != 'T' || h.get(i + 2) != 'T' || h.get(i + 3) != 'P'
                || h.get(i + 4) != '/' || !isDigit(h.get(i + 5)) || h.get(i + 6) != '.' || !isDigit(h.get(i + 7))) {
            return error(400, "malformed request line (version)");
        }
        if (h.get(i + 5) != '1') {
            return error(505, "HTTP version " + (char) h.get(i + 5) + "." + (char) h.get(i + 7) + " not supported");
        }
        minorVersion = h.get(i + 7) - '0';
        method = same(h, 0, methodEnd, GET) ? "GET" : same(h, 0, methodEnd, HEAD) ? "HEAD" : ascii(h, 0, methodEnd);
        target = ascii(h, ts, te);
        return 0;
    }

    /** The end of the line {@code [start, nl)} without its CR; -1 if a CR occurs elsewhere in it. */
    private static int lineEnd(ByteBuffer h, int start, int nl) {
        int end = nl > start && h.get(nl - 1) == '\r' ? nl - 1 : nl;
        for (int i = start; i < end; i++) {
            if (h.get(i) == '\r') {
                return -1;
            }
        }
        return end;
    }

    private static long parseLength(ByteBuffer h, int s, int e) {
        if (s == e || e - s > 18) {
            return -1;
        }
        long v = 0;
        for (int i = s; i < e; i++) {
            byte c = h.get(i);
            if (!isDigit(c)) {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    private int error(int status, String reason) {
        errorStatus = status;
        errorReason = reason;
        return ERROR;
    }

    private static boolean isDigit(byte c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isOws(byte c) {
        return c == ' ' || c == '\t';
    }

    /** Case-insensitive comparison with a lower-case ASCII name. */
    private static boolean nameIs(ByteBuffer h, int start, int len, byte[] lower) {
        if (len != lower.length) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            int c = h.get(start + i);
            if (c >= 'A' && c <= 'Z') {
                c += 32;
            }
            if (c != lower[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean same(ByteBuffer h, int start, int end, byte[] b) {
        if (end - start != b.length) {
            return false;
        }
        for (int i = 0; i < b.length; i++) {
            if (h.get(start + i) != b[i]) {
                return false;
            }
        }
        return true;
    }

    private static String ascii(ByteBuffer h, int start, int end) {
        byte[] b = new byte[end - start];
        h.get(start, b);
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** True while a request has started (bytes seen) but not completed. */
    public boolean inProgress() {
        return inProgress && errorStatus == 0;
    }

    /** The method of the last request ({@code "GET"} and {@code "HEAD"} are shared constants). */
    public String method() {
        return method;
    }

    /** True if the last request's method is {@code GET}. */
    public boolean isGet() {
        return method == "GET"; // requestLine() stores this very constant for GET
    }

    /** True if the last request's method is {@code HEAD}. */
    public boolean isHead() {
        return method == "HEAD";
    }

    /** The request target of the last request, as sent. */
    public String target() {
        return target;
    }

    /** The path of the last request's target: the target up to a {@code '?'}. */
    public String path() {
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
    public int minorVersion() {
        return minorVersion;
    }

    /** Whether the connection stays open after the last request (HTTP/1.1 default; 1.0 with keep-alive). */
    public boolean keepAlive() {
        return keepAlive;
    }

    /** Whether the last request asked for keep-alive explicitly while being HTTP/1.0. */
    public boolean explicitKeepAlive() {
        return keepAlive && minorVersion == 0;
    }

    /** The last request's body length (skipped). */
    public long contentLength() {
        return contentLength;
    }

    /** The status to answer an {@link #ERROR} with (400, 413, 414, 431, 501, 505), or 0. */
    public int errorStatus() {
        return errorStatus;
    }

    /** Why the input was refused, for logs. */
    public String errorReason() {
        return errorReason;
    }

    /** The configured head limit in bytes. */
    public int maxHead() {
        return maxHead;
    }
}
