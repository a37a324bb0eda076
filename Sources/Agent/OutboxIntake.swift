import EventModel
import Foundation
import Logging
import Outbox
import Synchronization

/// The agent's ``DocumentIntake``: hash → (already committed?) → detect format → decode →
/// commit the document's events and receipt in one outbox transaction.
///
/// A source acknowledges its document only after ``submit(_:)`` returns, which is what makes
/// a `kill -9` at any instant lose nothing: before the commit the document is still at its
/// source; after it, re-reading it yields the same ids and adds nothing.
public final class OutboxIntake: DocumentIntake {
    let outbox: Outbox
    let codecs: [DocumentFormat: any DocumentCodec]
    let agentID: String
    let region: String
    let limits: CodecLimits
    let gate: IntakeGate?
    let logger: Logger
    let onCommit: @Sendable () -> Void
    let metrics: IntakeMetrics
    private let pickups = Mutex<[String: Double]>([:])

    /// - Parameters:
    ///   - codecs: the codec for each format this agent reads.
    ///   - gate: watermarks and disk floor; nil accepts always (tests, `parse`).
    ///   - onCommit: called after each commit (wakes the forwarder).
    ///   - metrics: where received documents and rejections are counted.
    public init(
        outbox: Outbox, codecs: [DocumentFormat: any DocumentCodec], agentID: String, region: String,
        limits: CodecLimits = .default, gate: IntakeGate?, logger: Logger, onCommit: @escaping @Sendable () -> Void = {},
        metrics: IntakeMetrics = IntakeMetrics()
    ) {
        self.metrics = metrics
        self.outbox = outbox
        self.codecs = codecs
        self.agentID = agentID
        self.region = region
        self.limits = limits
        self.gate = gate
        self.logger = logger
        self.onCommit = onCommit
    }

    public func waitUntilAccepting() async throws {
        try await gate?.waitUntilAccepting()
    }

    /// When each source last handed over an input (seconds since 1970), by source name.
    public var lastPickups: [String: Double] { pickups.withLock { $0 } }

    public func submit(_ document: IncomingDocument) async throws -> IntakeResult {
        let pickupTime = Date().timeIntervalSince1970
        pickups.withLock { $0[document.sourceName] = pickupTime }
        logger.debug("intake.picked_up", metadata: [
            "source": "\(document.sourceName)", "file": "\(document.fileName)", "outpost.bytes": "\(document.size)",
        ])
        let sha = try await InputHasher.sha256(of: document.input)
        let origin = DocumentOrigin(
            agentID: agentID, region: region, sourceName: document.sourceName, fileName: document.fileName,
            fileSHA256: sha, pickupTime: pickupTime, traceparent: document.traceparent,
            attributes: document.attributes)
        do {
            let codec = try CodecSelection.codec(for: document.input, configured: document.format, among: codecs)
            let input = document.input
            let limits = self.limits
            let size = document.size
            let logger = self.logger
            let debugLog = logger.logLevel <= .debug
            let counts = try await outbox.commit { tx -> (events: Int, inserted: Int)? in
                // Checked here, in the transaction that would add the events: one hop less than a
                // read before it, and no window between the check and the commit.
                if let receipt = try tx.receipt(source: origin.sourceName, sha256: origin.fileSHA256),
                   receipt.outcome == .committed {
                    return nil
                }
                // Decoding runs on its own thread while this (the writer) inserts: two cores.
                let handoff = EventHandoff(capacity: OutboxIntake.handoffCapacity)
                let decoded = DispatchSemaphore(value: 0)
                OutboxIntake.decodeQueue.async {
                    defer { decoded.signal() }
                    do {
                        try OutboxIntake.decode(input, codec: codec, limits: limits, origin: origin, into: handoff)
                        handoff.finish(throwing: nil)
                    } catch {
                        handoff.finish(throwing: error)
                    }
                }
                defer {
                    handoff.cancel()
                    decoded.wait()
                }
                while let chunk = try handoff.take() {
                    for event in chunk {
                        try tx.append(event, source: origin.sourceName, fileName: origin.fileName)
                        if debugLog { DocumentLog.committed(event, origin: origin, logger: logger) }
                    }
                }
                try tx.recordReceipt(
                    source: origin.sourceName, sha256: origin.fileSHA256, fileName: origin.fileName, size: size,
                    events: tx.appended, outcome: .committed)
                return (tx.appended, tx.inserted)
            }
            guard let (events, inserted) = counts else {
                logger.info("intake.already_committed", metadata: [
                    "source": "\(document.sourceName)", "file": "\(document.fileName)", "outpost.sha256": "\(sha)",
                ])
                return .alreadyCommitted(sha256: sha)
            }
            onCommit()
            metrics.committed(source: document.sourceName, events: inserted, bytes: size)
            logger.info("intake.committed", metadata: [
                "source": "\(document.sourceName)", "file": "\(document.fileName)",
                "events": "\(events)", "outpost.inserted": "\(inserted)",
                "traceparent": "\(DocumentLog.traceparent(origin: origin, ordinal: 0))",
            ])
            return .committed(events: events, inserted: inserted, sha256: sha)
        } catch let rejection as DocumentRejection {
            try await commitRejection(
                origin: origin, fingerprint: sha, size: document.size, rejection: rejection, quarantinedAs: nil,
                receiptSHA: sha)
            return .rejected(rejection, sha256: sha)
        }
    }

    /// Events per chunk handed from the decoding thread to the writer, and chunks in flight.
    static let handoffChunkSize = 32
    static let handoffCapacity = 8
    private static let decodeQueue = DispatchQueue(label: "outpost.decode", attributes: .concurrent)

    /// Decodes and encodes `input` into `handoff`, in chunks (runs on ``decodeQueue``).
    private static func decode(
        _ input: DocumentInput, codec: any DocumentCodec, limits: CodecLimits, origin: DocumentOrigin,
        into handoff: EventHandoff
    ) throws {
        var encoder = CloudEventEncoder(origin: origin)
        try InputReader.rewind(input)
        var chunk: [EncodedEvent] = []
        chunk.reserveCapacity(handoffChunkSize)
        try codec.decode(input, limits: limits) { record in
            chunk.append(encoder.encode(record))
            if chunk.count == handoffChunkSize {
                try handoff.put(chunk)
                chunk = []
                chunk.reserveCapacity(handoffChunkSize)
            }
        }
        if !chunk.isEmpty { try handoff.put(chunk) }
    }

    public func reject(
        sourceName: String, fileName: String, size: Int64, fingerprint: String,
        rejection: DocumentRejection, quarantinedAs: String?
    ) async throws {
        let origin = DocumentOrigin(
            agentID: agentID, region: region, sourceName: sourceName, fileName: fileName, fileSHA256: "",
            pickupTime: Date().timeIntervalSince1970)
        try await commitRejection(
            origin: origin, fingerprint: fingerprint, size: size, rejection: rejection, quarantinedAs: quarantinedAs,
            receiptSHA: nil)
    }

    private func commitRejection(
        origin: DocumentOrigin, fingerprint: String, size: Int64, rejection: DocumentRejection,
        quarantinedAs: String?, receiptSHA: String?
    ) async throws {
        try await outbox.commit { tx in
            var encoder = CloudEventEncoder(origin: origin)
            let event = encoder.rejection(rejection, fingerprint: fingerprint, size: size, quarantinedAs: quarantinedAs)
            try tx.append(event, source: origin.sourceName, fileName: origin.fileName)
            if let receiptSHA {
                try tx.recordReceipt(
                    source: origin.sourceName, sha256: receiptSHA, fileName: origin.fileName, size: size, events: 1,
                    outcome: .rejected)
            }
        }
        onCommit()
        metrics.rejected(source: origin.sourceName, reason: rejection.code.rawValue)
        logger.warning("intake.rejected", metadata: [
            "source": "\(origin.sourceName)", "file": "\(origin.fileName)",
            "reason": "\(rejection.code.rawValue)", "error": "\(rejection.detail)",
            "traceparent": "\(origin.traceparent ?? Traceparent.derived(fileSHA256: fingerprint, ordinal: 0))",
        ])
    }
}
