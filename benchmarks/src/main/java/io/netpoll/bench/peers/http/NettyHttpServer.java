package io.netpoll.bench.peers.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP example server ({@code io.netpoll.examples.http.HttpServer}) written on Netty 4.2, the
 * way Netty's TechEmpower entry does it: native epoll transport, pooled allocator, {@link HttpServerCodec}
 * and one handler that answers {@code GET /plaintext} with a prebuilt {@code Hello, World!} and the same
 * headers ({@code Server}, {@code Date} refreshed once a second, {@code Content-Type},
 * {@code Content-Length}), writes one response per request and flushes once per read burst
 * (pipelining), honours keep-alive and {@code Connection: close}, and answers other paths 404.
 *
 * <p>Usage: {@code NettyHttpServer PORT} (127.0.0.1; {@code -Dnetty.http.workers=N}, default: available
 * processors).
 */
public final class NettyHttpServer {
    private static final DateTimeFormatter IMF_FIXDATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);
    // the header names capitalised as the netpoll server writes them (Netty's HttpHeaderNames are lower case)
    private static final AsciiString SERVER_NAME = AsciiString.cached("Server");
    private static final AsciiString DATE_NAME = AsciiString.cached("Date");
    private static final AsciiString CONTENT_TYPE_NAME = AsciiString.cached("Content-Type");
    private static final AsciiString CONTENT_LENGTH_NAME = AsciiString.cached("Content-Length");
    private static final AsciiString SERVER = AsciiString.cached("netty");
    private static final AsciiString TEXT_PLAIN = AsciiString.cached("text/plain");
    private static final byte[] HELLO = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
    private static final AsciiString HELLO_LENGTH = AsciiString.cached(String.valueOf(HELLO.length));
    private static final byte[] NOT_FOUND = "Not Found\n".getBytes(StandardCharsets.US_ASCII);
    private static final AsciiString NOT_FOUND_LENGTH = AsciiString.cached(String.valueOf(NOT_FOUND.length));
    private static final ByteBuf HELLO_BUF = Unpooled.unreleasableBuffer(Unpooled.directBuffer().writeBytes(HELLO));
    private static final ByteBuf NOT_FOUND_BUF = Unpooled.unreleasableBuffer(Unpooled.directBuffer().writeBytes(NOT_FOUND));

    private static volatile AsciiString date = formatDate();

    private NettyHttpServer() {
    }

    private static AsciiString formatDate() {
        return new AsciiString(IMF_FIXDATE.format(Instant.now()));
    }

    public static void main(String[] args) throws InterruptedException {
        Epoll.ensureAvailability();
        int port = Integer.parseInt(args[0]);
        int workers = Integer.getInteger("netty.http.workers", Runtime.getRuntime().availableProcessors());
        ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "http-date");
            t.setDaemon(true);
            return t;
        });
        clock.scheduleAtFixedRate(() -> date = formatDate(), 1000 - System.currentTimeMillis() % 1000, 1000,
                TimeUnit.MILLISECONDS);
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoopGroup work = new MultiThreadIoEventLoopGroup(workers, EpollIoHandler.newFactory());
        try {
            ServerBootstrap b = new ServerBootstrap()
                    .group(boss, work)
                    .channel(EpollServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), Plaintext.INSTANCE);
                        }
                    });
            Channel ch = b.bind("127.0.0.1", port).sync().channel();
            System.out.println("netty-http listening on 127.0.0.1:" + port + " workers=" + workers);
            ch.closeFuture().sync();
        } finally {
            boss.shutdownGracefully();
            work.shutdownGracefully();
            clock.shutdownNow();
        }
    }

    /** Answers each request; stateless, so shared. */
    @ChannelHandler.Sharable
    static final class Plaintext extends ChannelInboundHandlerAdapter {
        static final Plaintext INSTANCE = new Plaintext();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest req) {
                    if (req.decoderResult().isFailure()) {
                        FullHttpResponse r = response(HttpResponseStatus.BAD_REQUEST, NOT_FOUND_BUF, NOT_FOUND_LENGTH);
                        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
                        return;
                    }
                    boolean hello = req.method() == HttpMethod.GET && "/plaintext".equals(req.uri());
                    FullHttpResponse r = hello
                            ? response(HttpResponseStatus.OK, HELLO_BUF, HELLO_LENGTH)
                            : response(HttpResponseStatus.NOT_FOUND, NOT_FOUND_BUF, NOT_FOUND_LENGTH);
                    if (HttpUtil.isKeepAlive(req)) {
                        if (req.protocolVersion() == HttpVersion.HTTP_1_0) {
                            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                        }
                        ctx.write(r, ctx.voidPromise());
                    } else {
                        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
                    }
                }
                // HttpContent (bodies) is dropped; LastHttpContent.EMPTY for GETs
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private static FullHttpResponse response(HttpResponseStatus status, ByteBuf body, AsciiString length) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body.duplicate(), false, false);
            HttpHeaders h = r.headers();
            h.set(SERVER_NAME, SERVER);
            h.set(DATE_NAME, date);
            h.set(CONTENT_TYPE_NAME, TEXT_PLAIN);
            h.set(CONTENT_LENGTH_NAME, length);
            return r;
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
