import Crypto
import EventModel
import Glibc
import Synchronization

/// A `DocumentIntake` that reads every submitted descriptor to the end, hashes it, and
/// records it; it answers `alreadyCommitted` for content it has committed before (as the
/// outbox's receipts do), and can be told to refuse, to fail, or to stop accepting.
/// Like the agent's intake, `begin` starts a submission at once; `hold()` keeps begun
/// submissions from committing until `release()`. Submissions begun one after another are
/// committed in that order, as the protocol promises.
final class HashingIntake: DocumentIntake {
    struct Submission: Equatable {
        var fileName: String
        var sha256: String
        var size: Int64
        /// The content, when small (≤ 64 KiB).
        var content: [UInt8]?
        /// Handed over in memory (else as a staging file's descriptor).
        var inMemory: Bool
    }

    struct OutboxUnavailable: Error {}

    private struct State {
        var submissions: [Submission] = []
        var committed: Set<String> = []
        var rejections: [(fileName: String, rejection: DocumentRejection)] = []
        var refusal: DocumentRejection?
        var failuresLeft = 0
        var accepting = true
        var begun: [String] = []
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
        /// The submission begun last: the next one commits only after it has finished.
        var last: Task<IntakeResult, Error>?
    }

    private let state = Mutex(State())

    var submissions: [Submission] { state.withLock { $0.submissions } }
    var submittedNames: [String] { submissions.map(\.fileName) }
    var rejectedNames: [String] { state.withLock { $0.rejections.map(\.fileName) } }

    func refuse(with rejection: DocumentRejection?) { state.withLock { $0.refusal = rejection } }
    func failNext(_ count: Int) { state.withLock { $0.failuresLeft = count } }
    func setAccepting(_ accepting: Bool) { state.withLock { $0.accepting = accepting } }
    /// Files whose submission has begun, in order.
    var begunNames: [String] { state.withLock { $0.begun } }
    func hold() { state.withLock { $0.held = true } }
    func release() {
        let waiting = state.withLock { state in
            state.held = false
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func begin(_ document: IncomingDocument) -> PendingSubmission {
        let task = state.withLock { state in
            state.begun.append(document.fileName)
            let previous = state.last
            let task = Task {
                _ = try? await previous?.value
                return try await self.submitWhenReleased(document)
            }
            state.last = task
            return task
        }
        return PendingSubmission { try await task.value }
    }

    private func submitWhenReleased(_ document: IncomingDocument) async throws -> IntakeResult {
        await withCheckedContinuation { continuation in
            let wait = state.withLock { state in
                if state.held { state.waiting.append(continuation) }
                return state.held
            }
            if !wait { continuation.resume() }
        }
        return try await submit(document)
    }

    func submit(_ document: IncomingDocument) async throws -> IntakeResult {
        var hasher = SHA256()
        var small: [UInt8] = []
        var total: Int64 = 0
        let inMemory: Bool
        switch document.input {
        case .bytes(let bytes):
            inMemory = true
            hasher.update(data: bytes)
            small = bytes.count <= 65536 ? bytes : []
            total = Int64(bytes.count)
        case .fileDescriptor(let fd):
            inMemory = false
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard count >= 0 else { throw OutboxUnavailable() }
                if count == 0 { break }
                hasher.update(data: buffer[0..<count])
                if total + Int64(count) <= 65536 { small.append(contentsOf: buffer[0..<count]) }
                total += Int64(count)
            }
        }
        let sha = Self.hex(hasher.finalize())
        return try state.withLock { state throws -> IntakeResult in
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                throw OutboxUnavailable()
            }
            state.submissions.append(Submission(
                fileName: document.fileName, sha256: sha, size: total, content: total <= 65536 ? small : nil,
                inMemory: inMemory))
            if let refusal = state.refusal { return .rejected(refusal, sha256: sha) }
            if !state.committed.insert(sha).inserted { return .alreadyCommitted(sha256: sha) }
            return .committed(events: 1, inserted: 1, sha256: sha)
        }
    }

    func reject(
        sourceName: String, fileName: String, size: Int64, fingerprint: String,
        rejection: DocumentRejection, quarantinedAs: String?
    ) async throws {
        state.withLock { $0.rejections.append((fileName, rejection)) }
    }

    func waitUntilAccepting() async throws {
        while !state.withLock({ $0.accepting }) {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension HashingIntake {
    /// Lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
