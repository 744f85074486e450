package io.netpoll.examples.http;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server's responses, prebuilt as byte arrays. The {@code Date} header (RFC 7231 IMF-fixdate,
 * e.g. {@code Sun, 06 Nov 1994 08:49:37 GMT}) is formatted once a second by one daemon thread, which
 * then rebuilds the hot response ({@code 200} for {@code GET /plaintext}); requests only read a
 * volatile reference. Every response carries {@code Server}, {@code Date} and {@code Content-Length}.
 */
public final class HttpResponses {
    /** The {@code Server} header's value. */
    public static final String SERVER = "netpoll";
    /** The body of {@code GET /plaintext}. */
    public static final String HELLO = "Hello, World!";

    private static final DateTimeFormatter IMF_FIXDATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);
    private static final AtomicLong REFRESHES = new AtomicLong();
    private static volatile Snapshot current = build(System.currentTimeMillis());

    static {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "http-date");
            t.setDaemon(true);
            return t;
        });
        long toNextSecond = 1000 - System.currentTimeMillis() % 1000;
        timer.scheduleAtFixedRate(() -> current = build(System.currentTimeMillis()),
                toNextSecond, 1000, TimeUnit.MILLISECONDS);
    }

    /** The responses of one second. */
    static final class Snapshot {
        /** {@code Date: ...\r\n} */
        final byte[] dateLine;
        /** The whole {@code 200} response to {@code GET /plaintext} on a keep-alive HTTP/1.1 connection. */
        final byte[] plaintext;

        Snapshot(byte[] dateLine, byte[] plaintext) {
            this.dateLine = dateLine;
            this.plaintext = plaintext;
        }
    }

    private HttpResponses() {
    }

    private static Snapshot build(long millis) {
        REFRESHES.incrementAndGet();
        String date = IMF_FIXDATE.format(Instant.ofEpochMilli(millis));
        byte[] dateLine = ascii("Date: " + date + "\r\n");
        byte[] plaintext = ascii("HTTP/1.1 200 OK\r\nServer: " + SERVER + "\r\n" + "Date: " + date + "\r\n"
                + "Content-Type: text/plain\r\nContent-Length: " + HELLO.length() + "\r\n\r\n" + HELLO);
        return new Snapshot(dateLine, plaintext);
    }

    static Snapshot current() {
        return current;
    }

    /** How many times the date was formatted since the class loaded (about once a second). */
    public static long refreshes() {
        return REFRESHES.get();
    }

    /** The current {@code Date} header value. */
    public static String date() {
        String line = new String(current.dateLine, StandardCharsets.ISO_8859_1);
        return line.substring("Date: ".length(), line.length() - 2);
    }

    /** Connection header to add: none, {@code close} or {@code keep-alive} (for HTTP/1.0 keep-alive). */
    public enum ConnectionHeader {
        NONE(""), CLOSE("Connection: close\r\n"), KEEP_ALIVE("Connection: keep-alive\r\n");

        final byte[] line;

        ConnectionHeader(String line) {
            this.line = line.getBytes(StandardCharsets.ISO_8859_1); // not ascii(): no HttpResponses init from here
        }
    }

    /** A response's fixed parts: the status line and Server header; the headers after Date and the body. */
    static final class Canned {
        final byte[] head;
        final byte[][] tails = new byte[ConnectionHeader.values().length][];
        final byte[][] headTails = new byte[ConnectionHeader.values().length][];
        final byte[] body;

        Canned(int status, String reason, String contentType, String extraHeaders, String body) {
            this.head = ascii("HTTP/1.1 " + status + " " + reason + "\r\nServer: " + SERVER + "\r\n");
            this.body = ascii(body);
            for (ConnectionHeader c : ConnectionHeader.values()) {
                String common = (contentType == null ? "" : "Content-Type: " + contentType + "\r\n") + extraHeaders
                        + "Content-Length: " + body.length() + "\r\n" + new String(c.line, StandardCharsets.ISO_8859_1)
                        + "\r\n";
                tails[c.ordinal()] = ascii(common + body);
                headTails[c.ordinal()] = ascii(common);
            }
        }
    }

    static final Canned OK = new Canned(200, "OK", "text/plain", "", HELLO);
    static final Canned NOT_FOUND = new Canned(404, "Not Found", "text/plain", "", "Not Found\n");
    static final Canned METHOD_NOT_ALLOWED = new Canned(405, "Method Not Allowed", "text/plain",
            "Allow: GET, HEAD\r\n", "Method Not Allowed\n");

    /** The canned error response for {@code status}, always with {@code Connection: close}. */
    static Canned error(int status) {
        return switch (status) {
            case 400 -> BAD_REQUEST;
            case 408 -> TIMEOUT;
            case 413 -> TOO_LARGE;
            case 414 -> URI_TOO_LONG;
            case 431 -> HEADERS_TOO_LARGE;
            case 501 -> NOT_IMPLEMENTED;
            case 505 -> VERSION;
            default -> throw new IllegalArgumentException("no canned response for " + status);
        };
    }

    private static final Canned BAD_REQUEST = new Canned(400, "Bad Request", "text/plain", "", "Bad Request\n");
    private static final Canned TIMEOUT = new Canned(408, "Request Timeout", "text/plain", "", "Request Timeout\n");
    private static final Canned TOO_LARGE = new Canned(413, "Content Too Large", "text/plain", "", "Content Too Large\n");
    private static final Canned URI_TOO_LONG = new Canned(414, "URI Too Long", "text/plain", "", "URI Too Long\n");
    private static final Canned HEADERS_TOO_LARGE = new Canned(431, "Request Header Fields Too Large", "text/plain", "",
            "Request Header Fields Too Large\n");
    private static final Canned NOT_IMPLEMENTED = new Canned(501, "Not Implemented", "text/plain", "", "Not Implemented\n");
    private static final Canned VERSION = new Canned(505, "HTTP Version Not Supported", "text/plain", "",
            "HTTP Version Not Supported\n");

    /** Writes {@code r} with the current date; {@code withBody} false for HEAD. */
    static void write(io.netpoll.buffer.Writer out, Canned r, ConnectionHeader c, boolean withBody) {
        out.writeBinary(r.head);
        out.writeBinary(current.dateLine);
        out.writeBinary(withBody ? r.tails[c.ordinal()] : r.headTails[c.ordinal()]);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
