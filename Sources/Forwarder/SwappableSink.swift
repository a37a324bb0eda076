import EventModel
import Synchronization

/// The forwarder's sink, which a configuration reload can replace while the agent runs: a
/// batch goes to the sink current when it starts. The replaced sink is shut down; a batch it
/// still had in flight fails as a passing failure and is sent again through the new one (the
/// hub stores an event id once, so nothing is stored twice).
public final class SwappableSink: EventSink {
    private let current: Mutex<any EventSink>

    public init(_ sink: any EventSink) {
        current = Mutex(sink)
    }

    public var description: String { current.withLock { $0.description } }

    public var batchBodySize: BatchBodySize { current.withLock { $0.batchBodySize } }

    public func deliver(_ batch: [OutboundEvent]) async -> DeliveryOutcome {
        let sink = current.withLock { $0 }
        return await sink.deliver(batch)
    }

    /// Sends every later batch to `sink` and shuts the previous one down.
    public func replace(with sink: any EventSink) async {
        let previous = current.withLock { current in
            let previous = current
            current = sink
            return previous
        }
        await previous.shutdown()
    }

    public func shutdown() async {
        await current.withLock { $0 }.shutdown()
    }

    public func releaseMemory() {
        current.withLock { $0 }.releaseMemory()
    }
}
