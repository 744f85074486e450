package io.netpoll.bench.peers;

import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;

/** Framed echo on Netty 4.2's NIO transport (JDK selector). Usage: {@code NettyNioEcho PORT}. */
public final class NettyNioEcho {
    private NettyNioEcho() {}

    public static void main(String[] args) throws InterruptedException {
        NettyEcho.serve(Integer.parseInt(args[0]), NioIoHandler.newFactory(), NioServerSocketChannel.class);
    }
}
