import RawDocument
import Intake
import EventModel
import Foundation
import TestSupport
import Glibc
import Logging
import Outbox
import Synchronization
import Testing

/// A test codec: each non-empty line of the input is one document whose DOCNUM is the line;
/// a line `BAD` makes the whole input a ``DocumentRejection``.
struct LineCodec: DocumentCodec {
    let format = DocumentFormat.idocFlat

    func decode(_ input: DocumentInput, limits: CodecLimits, emit: (DocumentRecord) throws -> Void) throws {
        let bytes: [UInt8]
        switch input {
        case .bytes(let b): bytes = b
        case .fileDescriptor(let fd): bytes = try readToEnd(fd)
        }
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        for (ordinal, line) in lines.enumerated() {
            let text = String(decoding: line, as: UTF8.self)
            if text == "BAD" { throw DocumentRejection(.malformedFlat, "line \(ordinal + 1) is BAD") }
            let control = ControlRecord(mandt: "100", docnum: text, idoctyp: "LINE01", mestyp: "LINE", sndprn: "SND")
            try Array(line).withUnsafeBytes { data in
                try emit(DocumentRecord(ordinal: ordinal, control: control, contentType: "text/plain", data: data))
            }
        }
    }

    /// Reads from the descriptor's current offset to its end.
    private func readToEnd(_ fd: Int32) throws -> [UInt8] {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            if n == 0 { return all }
            all.append(contentsOf: chunk[0..<n])
        }
    }
}

/// A temporary directory with a real outbox and an intake over it.
struct AgentFixture {
    let directory: String
    let outbox: Outbox
    let intake: OutboxIntake
    let commits = Counter()

    init(
        limits: CodecLimits = .default, stageHook: (@Sendable (IntakeStage, IncomingDocument) -> Void)? = nil
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString)").path
        let outbox = try Outbox(path: directory + "/outbox.sqlite")
        self.outbox = outbox
        let commits = self.commits
        intake = OutboxIntake(
            outbox: outbox, codecs: [.idocFlat: LineCodec(), .raw: RawCodec()], agentID: "agent-1", region: "emea",
            limits: limits, gate: nil, logger: quietLogger, onCommit: { commits.increment() }, stageHook: stageHook)
    }

    func removeAll() { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `content` to a file in the fixture directory and returns its path.
    func writeFile(_ name: String, _ content: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try Data(content).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Submits the file at `path` through an open descriptor, as a file source does.
    func submitFile(_ path: String, format: DocumentFormat? = .idocFlat, source: String = "drop") async throws -> IntakeResult {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0, "cannot open \(path)")
        defer { close(fd) }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber
        return try await intake.submit(IncomingDocument(
            sourceName: source, fileName: (path as NSString).lastPathComponent, input: .fileDescriptor(fd),
            size: size?.int64Value ?? -1, format: format))
    }

    /// Every event in the outbox that is not yet delivered, parsed, in outbox order.
    func pendingEvents() async throws -> [[String: Any]] {
        let sequences = try await outbox.pendingWindow(limit: 10_000).map(\.sequence)
        return try await outbox.outboundEvents(sequences).map { event in
            try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
        }
    }
}

let quietLogger = Logger(label: "agent-test") { _ in SwiftLogNoOpLogHandler() }

/// A thread-safe counter.
final class Counter: Sendable {
    private let value = Mutex(0)
    var count: Int { value.withLock { $0 } }
    func increment() { value.withLock { $0 += 1 } }
}

/// Lowercase hex SHA-256, computed by the system's `sha256sum` as an independent oracle.
func systemSHA256(_ bytes: [UInt8]) throws -> String {
    let input = NSTemporaryDirectory() + "sha256-input-\(UUID().uuidString)"
    defer { unlink(input) }
    guard FileManager.default.createFile(atPath: input, contents: Data(bytes)) else {
        throw SubprocessError("cannot write \(input)")
    }
    let result = try Subprocess.runBlocking("sha256sum", [], stdin: input, timeout: 60)
    return String(result.stdout.prefix(64))
}

/// Polls `condition` every 20 ms for up to `timeout` seconds; returns whether it became true.
func eventually(timeout: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
