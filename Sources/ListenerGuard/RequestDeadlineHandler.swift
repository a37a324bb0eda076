import Logging
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client is too slow: a request whose line and headers are not
/// complete ``ListenerLimits/headerTimeout`` after the connection opened (first request) or
/// after the request's first byte (later requests), or whose body averages less than
/// ``ListenerLimits/minBodyRate`` once `headerTimeout` has passed since its headers, or that
/// waits ``ListenerLimits/idleTimeout`` for its next request. Each closing is counted in
/// ``ListenerCounters``.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase {
        /// Waiting for a request's line and headers, since `since`.
        case head
        /// Reading a body whose headers arrived at `since`, when `bytes` bytes had arrived.
        case body(since: NIODeadline, bytes: Int)
        /// The request was read; the server answers it.
        case answering
        /// Between requests: nothing arrived since the last answer.
        case idle
    }

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let minBodyRate: Int
    private let counters: ListenerCounters
    private let logger: Logger
    private var phase = Phase.head
    private var received = 0
    private var receivedAtLastRequestEnd = 0
    private var timer: Scheduled<Void>?

    init(limits: ListenerLimits, counters: ListenerCounters, logger: Logger) {
        headerTimeout = .nanoseconds(Int64(limits.headerTimeout * 1e9))
        idleTimeout = .nanoseconds(Int64(limits.idleTimeout * 1e9))
        minBodyRate = limits.minBodyRate
        self.counters = counters
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let watch = InboundByteWatch { [weak self] count in self?.bytesArrived(count, context: context) }
        do {
            try context.pipeline.syncOperations.addHandler(watch, position: .first)
        } catch {
            context.close(promise: nil)
            return
        }
        startHeaderClock(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            timer?.cancel()
            phase = .body(since: .now(), bytes: received)
            scheduleBodyCheck(context)
        case .body:
            break
        case .end:
            timer?.cancel()
            timer = nil
            phase = .answering
            receivedAtLastRequestEnd = received
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), case .answering = phase {
            // Bytes of the next request may already be here (pipelining): its clock runs now.
            if received > receivedAtLastRequestEnd {
                startHeaderClock(context)
            } else {
                startIdleClock(context)
            }
        }
        context.write(data, promise: promise)
    }

    private func bytesArrived(_ count: Int, context: ChannelHandlerContext) {
        received += count
        if case .idle = phase {
            startHeaderClock(context)
        }
    }

    private func startHeaderClock(_ context: ChannelHandlerContext) {
        phase = .head
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) { [weak self] in
            guard let self, case .head = self.phase else { return }
            self.logger.debug("listener.header_timeout", metadata: ["listener.remote": "\(context.channel.remoteAddress?.description ?? "?")"])
            self.counters.record(.headerTimeout)
            context.close(promise: nil)
        }
    }

    private func startIdleClock(_ context: ChannelHandlerContext) {
        phase = .idle
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) { [weak self] in
            guard let self, case .idle = self.phase else { return }
            self.logger.debug("listener.idle_timeout", metadata: ["listener.remote": "\(context.channel.remoteAddress?.description ?? "?")"])
            self.counters.record(.idleTimeout)
            context.close(promise: nil)
        }
    }

    /// Checks the body's average rate every second once the grace (`headerTimeout`) is over.
    private func scheduleBodyCheck(_ context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [weak self] in
            guard let self, case .body(let since, let bytesAtHead) = self.phase else { return }
            let elapsed = NIODeadline.now() - since
            if elapsed > self.headerTimeout {
                let seconds = Double((elapsed - self.headerTimeout).nanoseconds) / 1e9
                if Double(self.received - bytesAtHead) < Double(self.minBodyRate) * seconds {
                    self.logger.debug("listener.body_too_slow", metadata: [
                        "listener.remote": "\(context.channel.remoteAddress?.description ?? "?")",
                        "listener.body_bytes": "\(self.received - bytesAtHead)",
                    ])
                    self.counters.record(.slowBody)
                    context.close(promise: nil)
                    return
                }
            }
            self.scheduleBodyCheck(context)
        }
    }
}
