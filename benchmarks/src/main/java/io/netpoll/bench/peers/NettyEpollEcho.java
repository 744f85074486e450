package io.netpoll.bench.peers;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;

/** Framed echo on Netty 4.2's native epoll transport. Usage: {@code NettyEpollEcho PORT}. */
public final class NettyEpollEcho {
    private NettyEpollEcho() {}

    public static void main(String[] args) throws InterruptedException {
        Epoll.ensureAvailability();
        NettyEcho.serve(Integer.parseInt(args[0]), EpollIoHandler.newFactory(), EpollServerSocketChannel.class);
    }
}
