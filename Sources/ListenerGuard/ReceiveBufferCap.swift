import NIOCore

/// Caps the buffer a connection reads into at ``ListenerLimits/maxReadBuffer``.
///
/// NIO keeps each connection's receive buffers for its next reads: up to one per read it
/// makes per wake-up (4), each grown to 64 KiB while reads fill it. Every keep-alive
/// connection that once carried a large batch then holds them between its requests, tens of
/// MiB for a thousand agents. Capped at one buffer of at most the cap, a large body arrives
/// in more reads (a 1 MiB batch in 64 instead of 16) and an idle connection holds at most
/// the cap.
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
        // NIO keeps as many buffers as reads it makes per wake-up (4 by default) when the
        // earlier ones are still referenced (a request's body is slices of them): one.
        try? context.channel.syncOptions?.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
    }
}
