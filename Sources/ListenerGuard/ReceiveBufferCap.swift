import NIOCore

/// Caps the buffer a connection reads into at ``ListenerLimits/maxReadBuffer``.
///
/// NIO keeps each connection's receive buffer for its next read and grows it, up to 64 KiB,
/// while reads fill it: every keep-alive connection that once carried a large batch then
/// holds 64 KiB between its requests, 64 MiB for a thousand agents. Capped, a large body
/// arrives in more reads (a 1 MiB batch in 64 instead of 16) and an idle connection holds
/// at most the cap.
final class ReceiveBufferCap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let maximum: Int

    init(maximum: Int) {
        self.maximum = maximum
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // On the connection's event loop, before its first read.
        let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: min(2048, maximum), maximum: maximum)
        try? context.channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: allocator)
    }
}
