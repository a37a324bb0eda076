/// A document a source has picked up and hands to the agent.
public struct IncomingDocument: Sendable {
    /// The source's `name`.
    public var sourceName: String
    /// File name without directory (or message id).
    public var fileName: String
    /// The bytes. For `.fileDescriptor`, the source keeps the descriptor open until
    /// `submit` returns; the intake may seek it.
    public var input: DocumentInput
    /// Size in bytes.
    public var size: Int64
    /// The format the source is configured for (`nil` = auto-detect).
    public var format: DocumentFormat?
    /// Trace context the source received with the document, if any.
    public var traceparent: String?
    /// Extension attributes the source carries onto every event of the document (message
    /// properties of a queue source, say). See ``ExtensionAttributes`` for the naming rule.
    public var attributes: [String: String]
    /// Whether a committed input leaves a receipt (its SHA-256, kept 30 days) by which the
    /// same input is recognised later without being decoded again: true for files. A queue
    /// source passes false: a message is recognised by its events instead, whose ids are
    /// the same when it is delivered again (the outbox keeps a second copy out), and a receipt
    /// per message would cost a write to a random page of the receipt index per message and
    /// a row per message for 30 days. A rejected input leaves its receipt either way.
    public var keepsReceipt: Bool

    public init(
        sourceName: String, fileName: String, input: DocumentInput, size: Int64,
        format: DocumentFormat?, traceparent: String? = nil, attributes: [String: String] = [:],
        keepsReceipt: Bool = true
    ) {
        self.sourceName = sourceName
        self.fileName = fileName
        self.input = input
        self.size = size
        self.format = format
        self.traceparent = traceparent
        self.attributes = attributes
        self.keepsReceipt = keepsReceipt
    }
}

/// What became of a submitted document. In every case the source may now acknowledge the
/// document upstream: its events (or its rejection event) are committed to the outbox.
public enum IntakeResult: Sendable, Equatable {
    /// The document's events were committed (`inserted` new, the rest already present).
    case committed(events: Int, inserted: Int, sha256: String)
    /// This exact input was committed before (same content): nothing new was added.
    case alreadyCommitted(sha256: String)
    /// The input was refused; the rejection event is committed. The source quarantines it.
    case rejected(DocumentRejection, sha256: String?)
}

/// The agent side of a source: the only thing a source adapter talks to.
///
/// Data flows source → codec → outbox commit → source ack. A source calls ``submit(_:)``
/// and acknowledges the document upstream (archive, delete, ack) only after it returns.
public protocol DocumentIntake: Sendable {
    /// Decodes and commits the document's events in one transaction.
    /// Throws only when the outbox cannot commit (disk full, database error): the source
    /// must then leave the document where it is and try again later.
    func submit(_ document: IncomingDocument) async throws -> IntakeResult

    /// Commits the rejection event for an input the source refused without reading it
    /// (symlink, oversize, not a regular file). `fingerprint` identifies it stably.
    func reject(
        sourceName: String, fileName: String, size: Int64, fingerprint: String,
        rejection: DocumentRejection, quarantinedAs: String?
    ) async throws

    /// Returns when intake may proceed (outbox below its watermarks and disk above its
    /// floor). Sources call this before picking up the next document.
    func waitUntilAccepting() async throws

    /// Whether intake may proceed now, without waiting (what ``waitUntilAccepting()`` would
    /// return at once for): a source that takes many small documents asks this before each
    /// batch of them, and waits only when it is false.
    func acceptsNow() -> Bool

    /// Starts a submission and returns at once, so that a source can hand over its next
    /// document while this one is still being committed. Documents begun one after another
    /// are committed in that order. The source acknowledges a document only once its
    /// ``PendingSubmission/result`` has returned, and keeps its descriptor open until then.
    func begin(_ document: IncomingDocument) -> PendingSubmission
}

extension DocumentIntake {
    /// Without a gate of its own to ask, false: the source waits with ``waitUntilAccepting()``.
    public func acceptsNow() -> Bool { false }

    /// Without an intake of its own, a submission runs when its result is awaited: one at a
    /// time, in the order the source awaits them.
    public func begin(_ document: IncomingDocument) -> PendingSubmission {
        PendingSubmission { try await self.submit(document) }
    }
}

/// A submission started by ``DocumentIntake/begin(_:)``.
public struct PendingSubmission: Sendable {
    private let outcome: @Sendable () async throws -> IntakeResult

    /// - Parameter outcome: waits for (or runs) the submission and returns what
    ///   ``DocumentIntake/submit(_:)`` would.
    public init(_ outcome: @escaping @Sendable () async throws -> IntakeResult) {
        self.outcome = outcome
    }

    /// What became of the document, once its events (or its rejection) are committed.
    public func result() async throws -> IntakeResult {
        try await outcome()
    }
}
