import NIOCore

/// First in a connection's pipeline: tells ``RequestDeadlineHandler`` how many bytes arrived
/// from the socket, before any decoding, and passes them on unchanged.
final class InboundByteWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let received: (Int) -> Void

    /// - Parameter received: called on the channel's event loop with each read's byte count.
    init(received: @escaping (Int) -> Void) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received(unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }
}
