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
    let stageHook: (@Sendable (IntakeStage, IncomingDocument) -> Void)?
    private let pickups = Mutex<[String: Double]>([:])
    private let turns = CommitTurns()

    /// - Parameters:
    ///   - codecs: the codec for each format this agent reads.
    ///   - gate: watermarks and disk floor; nil accepts always (tests, `parse`).
    ///   - onCommit: called after each commit (wakes the forwarder).
    ///   - metrics: where received documents and rejections are counted.
    ///   - stageHook: called as each step of an input begins (tests change the input there).
    public init(
        outbox: Outbox, codecs: [DocumentFormat: any DocumentCodec], agentID: String, region: String,
        limits: CodecLimits = .default, gate: IntakeGate?, logger: Logger, onCommit: @escaping @Sendable () -> Void = {},
        metrics: IntakeMetrics = IntakeMetrics(), stageHook: (@Sendable (IntakeStage, IncomingDocument) -> Void)? = nil
    ) {
        self.stageHook = stageHook
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

    public func acceptsNow() -> Bool {
        gate.map { $0.evaluate() == nil } ?? true
    }

    /// When each source last handed over an input (seconds since 1970), by source name.
    public var lastPickups: [String: Double] { pickups.withLock { $0 } }

    public func submit(_ document: IncomingDocument) async throws -> IntakeResult {
        try await submit(document, turn: turns.take())
    }

    /// Hashes and starts decoding at once; the commit waits for the submissions begun before.
    public func begin(_ document: IncomingDocument) -> PendingSubmission {
        let turn = turns.take()
        let task = Task { try await self.submit(document, turn: turn) }
        return PendingSubmission {
            try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        }
    }

    private func submit(_ document: IncomingDocument, turn: Int) async throws -> IntakeResult {
        // The turn passes once this input's commit is queued: the inputs after it queue theirs
        // behind it, the writer commits what is queued together (in this order), and one log
        // sync covers them all. A rejection found before the queueing is committed within the
        // turn; one the decoder finds while the commit runs is committed after it.
        var turnPassed = false
        defer { if !turnPassed { turns.finish(turn) } }
        let pickupTime = Date().timeIntervalSince1970
        pickups.withLock { $0[document.sourceName] = pickupTime }
        logger.debug("intake.picked_up", metadata: [
            "source": "\(document.sourceName)", "file": "\(document.fileName)", "outpost.bytes": "\(document.size)",
        ])
        // Hash and decoder read the input one after the other: compared again before the
        // commit, a file that changed in between (or during either) commits nothing.
        let before = InputSnapshot.of(document.input)
        stageHook?(.hashing, document)
        let sha = try await InputHasher.sha256(of: document.input)
        let origin = DocumentOrigin(
            agentID: agentID, region: region, sourceName: document.sourceName, fileName: document.fileName,
            fileSHA256: sha, pickupTime: pickupTime, traceparent: document.traceparent,
            attributes: document.attributes)
        // Decoding runs ahead while earlier submissions commit; every commit waits its turn.
        let job: Result<DecodeJob, DocumentRejection>
        do {
            let codec = try CodecSelection.codec(for: document.input, configured: document.format, among: codecs)
            stageHook?(.decoding, document)
            job = .success(DecodeJob(document.input, codec: codec, limits: limits, origin: origin))
        } catch let rejection as DocumentRejection {
            job = .failure(rejection)
        }
        await turns.wait(for: turn)
        do {
            let decoding = try job.get()
            let queued = queueEvents(of: decoding, document: document, origin: origin, before: before)
            turns.finish(turn)
            turnPassed = true
            let (counts, commit) = try await queued.result()
            await decoding.finished()
            guard let (events, inserted, conflicts) = counts else {
                // The receipt may be a commit of the same content not yet synced.
                try await outbox.waitUntilDurable()
                logger.info("intake.already_committed", metadata: [
                    "source": "\(document.sourceName)", "file": "\(document.fileName)", "outpost.sha256": "\(sha)",
                ])
                return .alreadyCommitted(sha256: sha)
            }
            stageHook?(.syncing, document)
            try await outbox.waitUntilDurable(commit)
            onCommit()
            metrics.committed(source: document.sourceName, events: inserted, bytes: document.size)
            if !conflicts.isEmpty {
                metrics.idConflicts(source: document.sourceName, count: conflicts.count)
                logger.warning("intake.id_conflict", metadata: [
                    "source": "\(document.sourceName)", "file": "\(document.fileName)",
                    "outpost.event.id": "\(conflicts.prefix(10).joined(separator: ","))",
                    "outpost.conflicts": "\(conflicts.count)",
                    "hint": .string("the outbox already held these ids with other data; each new version is a dead "
                        + "letter with reason id_conflict: outpost dlq list, then replay or purge"),
                ])
            }
            logger.info("intake.committed", metadata: [
                "source": "\(document.sourceName)", "file": "\(document.fileName)",
                "events": "\(events)", "outpost.inserted": "\(inserted)",
                "traceparent": "\(DocumentLog.traceparent(origin: origin, ordinal: 0))",
            ])
            return .committed(events: events, inserted: inserted, sha256: sha)
        } catch let rejection as DocumentRejection {
            await (try? job.get())?.finished()
            // A refusal of a file that changed meanwhile may be a refusal of a half-written
            // version: the file is read again once it settles instead.
            if let before, InputSnapshot.of(document.input) != before {
                throw InputChangedWhileRead(fileName: document.fileName)
            }
            try await commitRejection(
                origin: origin, fingerprint: sha, size: document.size, rejection: rejection, quarantinedAs: nil,
                receiptSHA: sha)
            return .rejected(rejection, sha256: sha)
        } catch {
            let decoding = try? job.get()
            decoding?.cancel()
            await decoding?.finished()
            throw error
        }
    }

    /// Queues the insert of the job's events and the input's receipt, all or none; nil counts
    /// when this content was committed before (then nothing is inserted and the job is
    /// stopped). Its result comes before the commit is durable: the caller waits for that.
    private func queueEvents(
        of job: DecodeJob, document: IncomingDocument, origin: DocumentOrigin, before: InputSnapshot?
    ) -> QueuedCommit<(events: Int, inserted: Int, conflicts: [String])?> {
        let size = document.size
        let stageHook = self.stageHook
        let logger = self.logger
        let debugLog = logger.logLevel <= .debug
        // An input in memory decoded whole, without error, can throw here only when the
        // transaction fails (its bytes cannot change, its events are all there): no savepoint
        // of its own, which for a queue message of one document costs more than its inserts.
        let rollsBackAlone = !(job.complete && before == nil)
        let keepsReceipt = document.keepsReceipt
        return outbox.queueCommit(rollsBackAlone: rollsBackAlone) { tx -> (events: Int, inserted: Int, conflicts: [String])? in
            defer { job.cancel() }
            // Checked in the transaction that would add the events: no window between the
            // check and the commit. An input without a receipt (a queue message) is
            // recognised by its events' ids as they are inserted.
            if keepsReceipt, try tx.hasCommittedReceipt(source: origin.sourceName, sha256: origin.fileSHA256) {
                // What was hashed is committed; the file must still be what was hashed.
                if let before, InputSnapshot.of(document.input) != before {
                    throw InputChangedWhileRead(fileName: document.fileName)
                }
                return nil
            }
            while let chunk = try job.handoff.take() {
                try tx.append(contentsOf: chunk, source: origin.sourceName, fileName: origin.fileName)
                if debugLog { for event in chunk { DocumentLog.committed(event, origin: origin, logger: logger) } }
            }
            if keepsReceipt {
                try tx.recordReceipt(
                    source: origin.sourceName, sha256: origin.fileSHA256, fileName: origin.fileName, size: size,
                    events: tx.appended, outcome: .committed)
            }
            stageHook?(.committing, document)
            // Last before COMMIT, the decoder having read the whole input: changed since
            // before the hash, the events may be of a partial version (and carry ids from the
            // hash of another), so the transaction rolls back and the source reads the file
            // again once it settles.
            if let before, InputSnapshot.of(document.input) != before {
                throw InputChangedWhileRead(fileName: document.fileName)
            }
            return (tx.appended, tx.inserted, tx.conflictingIDs)
        }
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
