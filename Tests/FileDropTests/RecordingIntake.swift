import EventModel
import Glibc
import Synchronization

/// A `DocumentIntake` that records what it is given, reads every descriptor to the end (to
/// prove it is readable), and can be told to refuse, to fail, or to stop accepting.
final class RecordingIntake: DocumentIntake {
    struct Submission: Equatable {
        var fileName: String
        var content: [UInt8]
        var size: Int64
        var format: DocumentFormat?
    }

    struct Rejection: Equatable {
        var fileName: String
        var size: Int64
        var fingerprint: String
        var rejection: DocumentRejection
        var quarantinedAs: String?
    }

    struct OutboxUnavailable: Error {}

    private struct State {
        var submissions: [Submission] = []
        var attempts = 0
        var rejections: [Rejection] = []
        var failuresLeft = 0
        var refusal: DocumentRejection?
        var accepting = true
    }

    private let state = Mutex(State())

    var submissions: [Submission] { state.withLock { $0.submissions } }
    var submittedNames: [String] { submissions.map(\.fileName) }
    var attempts: Int { state.withLock { $0.attempts } }
    var rejections: [Rejection] { state.withLock { $0.rejections } }

    /// The next `count` submissions throw, as when the outbox cannot commit.
    func failNext(_ count: Int) { state.withLock { $0.failuresLeft = count } }
    /// Every submission is answered `.rejected(rejection)`.
    func refuse(with rejection: DocumentRejection) { state.withLock { $0.refusal = rejection } }
    /// While `false`, `waitUntilAccepting()` blocks (backpressure).
    func setAccepting(_ accepting: Bool) { state.withLock { $0.accepting = accepting } }

    func submit(_ document: IncomingDocument) async throws -> IntakeResult {
        let content = try Self.readAll(document.input)
        let fail = state.withLock { state in
            state.attempts += 1
            guard state.failuresLeft > 0 else { return false }
            state.failuresLeft -= 1
            return true
        }
        if fail { throw OutboxUnavailable() }
        let sha = String(repeating: "ab", count: 32)
        return state.withLock { state in
            state.submissions.append(Submission(
                fileName: document.fileName, content: content, size: document.size, format: document.format))
            if let refusal = state.refusal { return .rejected(refusal, sha256: sha) }
            return .committed(events: 1, inserted: 1, sha256: sha)
        }
    }

    func reject(
        sourceName: String, fileName: String, size: Int64, fingerprint: String,
        rejection: DocumentRejection, quarantinedAs: String?
    ) async throws {
        state.withLock {
            $0.rejections.append(Rejection(
                fileName: fileName, size: size, fingerprint: fingerprint, rejection: rejection,
                quarantinedAs: quarantinedAs))
        }
    }

    func waitUntilAccepting() async throws {
        while !state.withLock({ $0.accepting }) {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private static func readAll(_ input: DocumentInput) throws -> [UInt8] {
        switch input {
        case .bytes(let bytes):
            return bytes
        case .fileDescriptor(let fd):
            var content: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(content.count)) }
                guard count >= 0 else { throw OutboxUnavailable() }
                if count == 0 { return content }
                content.append(contentsOf: buffer[0..<count])
            }
        }
    }
}
