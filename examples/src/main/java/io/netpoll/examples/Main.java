package io.netpoll.examples;

import java.util.Arrays;

/**
 * Entry point of {@code examples/target/netpoll-examples.jar}: the first argument picks the example.
 */
public final class Main {
    private Main() {
    }

    private static void usage() {
        System.err.println("""
                usage: java -jar examples/target/netpoll-examples.jar EXAMPLE [ARGS]
                  demo [SECONDS] [CLIENTS]  server + coroutine clients exchange checked frames, then a summary
                  framed-echo PORT   framed echo server, Java callback API (127.0.0.1, until killed)
                  raw-echo PORT      raw echo server, Java callback API
                  kt-echo PORT       framed echo server, Kotlin coroutine DSL
                  echo-client PORT [COUNT] [SIZE]  coroutine client for the framed echo servers
                  chat PORT          line-based chat server, Kotlin coroutine DSL
                  http PORT          HTTP/1.1 server (GET /plaintext), Java callback API
                  resp PORT          Redis-protocol server (PING ECHO SET GET DEL INCR EXISTS ...), Kotlin DSL
                """);
        System.exit(2);
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "demo" -> Demo.main(rest);
            case "framed-echo" -> FramedEcho.main(rest);
            case "kt-echo" -> KtEcho.main(rest);
            case "echo-client" -> EchoClient.main(rest);
            case "chat" -> Chat.main(rest);
            case "raw-echo" -> RawEcho.main(rest);
            case "http" -> io.netpoll.examples.http.HttpServer.main(rest);
            case "resp" -> io.netpoll.examples.resp.RespServer.main(rest);
            default -> usage();
        }
    }
}
