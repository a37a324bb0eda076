import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers `431 Request Header Fields Too Large` and closes the connection when a request's
/// line and headers exceed ``ListenerLimits/maxHeaderBytes`` (the HTTP decoder's header
/// overflow); other decoding errors go on to the server, which answers 400.
final class OversizedHeaderResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let maxHeaderBytes: Int
    private let counters: ListenerCounters
    private var answered = false

    init(maxHeaderBytes: Int, counters: ListenerCounters) {
        self.maxHeaderBytes = maxHeaderBytes
        self.counters = counters
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, parserError == .headerOverflow else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
        counters.record(.oversizedHeaders)
        let body = ByteBuffer(string: #"{"error":"request headers are larger than \#(maxHeaderBytes) bytes"}"#)
        let head = HTTPResponse(
            status: .requestHeaderFieldsTooLarge,
            headerFields: [.contentType: "application/json", .contentLength: "\(body.readableBytes)", .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
