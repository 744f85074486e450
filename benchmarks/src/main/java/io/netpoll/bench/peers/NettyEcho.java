package io.netpoll.bench.peers;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

/**
 * The framed echo server on Netty 4.2, shared by {@link NettyEpollEcho} and {@link NettyNioEcho}; only
 * the transport differs. Written the way Netty's own examples and docs recommend for speed:
 * a boss group of one event loop that accepts, a worker group of one event loop per available
 * processor, the pooled allocator, {@link LengthFieldBasedFrameDecoder} cutting frames out of the
 * cumulated input (the 4-byte header is kept, so each decoded frame is echoed as it is), one
 * {@code write} per frame and one {@code flush} per read burst ({@code channelReadComplete}).
 */
final class NettyEcho {
    /** Largest frame accepted: the benchmarks use at most 64 KB payloads. */
    static final int MAX_FRAME = 16 << 20;

    private NettyEcho() {}

    /** Binds 127.0.0.1:port with the given transport and serves until the process is killed. */
    static void serve(int port, IoHandlerFactory ioHandlers, Class<? extends ServerChannel> serverChannel)
            throws InterruptedException {
        // overridable only to study sensitivity (the benchmark runs the defaults above)
        int workers = Integer.getInteger("netty.echo.workers", Runtime.getRuntime().availableProcessors());
        ByteBufAllocator alloc = "adaptive".equals(System.getProperty("netty.echo.allocator"))
                ? new AdaptiveByteBufAllocator() : PooledByteBufAllocator.DEFAULT;
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, ioHandlers);
        EventLoopGroup work = new MultiThreadIoEventLoopGroup(workers, ioHandlers);
        try {
            ServerBootstrap b = new ServerBootstrap()
                    .group(boss, work)
                    .channel(serverChannel)
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, alloc)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(
                                    new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 0),
                                    EchoFrames.INSTANCE);
                        }
                    });
            Channel ch = b.bind("127.0.0.1", port).sync().channel();
            System.out.println(serverChannel.getSimpleName() + " listening on 127.0.0.1:" + port
                    + " workers=" + workers + " allocator=" + alloc.getClass().getSimpleName());
            ch.closeFuture().sync();
        } finally {
            boss.shutdownGracefully();
            work.shutdownGracefully();
        }
    }

    /** Writes every decoded frame back unchanged; flushes once per read burst. Stateless, so shared. */
    @ChannelHandler.Sharable
    static final class EchoFrames extends ChannelInboundHandlerAdapter {
        static final EchoFrames INSTANCE = new EchoFrames();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());
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
