import RawDocument
import Intake
import EventModel
import Foundation
import IDocXML
import Logging
import Outbox
import Synchronization

/// A real outbox in a temp dir with the agent's real intake (IDoc XML and raw codecs), and a
/// switch that pauses intake the way the watermarks do.
final class AgentHarness: Sendable {
    let directory: String
    let outbox: Outbox
    let intake: OutboxIntake
    let pausable: PausableIntake

    init() throws {
        directory = NSTemporaryDirectory() + "outpost-amqp-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        outbox = try Outbox(path: directory + "/outbox.sqlite")
        intake = OutboxIntake(
            outbox: outbox, codecs: [.idocXML: IDocXMLCodec(), .raw: RawCodec()], agentID: "agent-t", region: "emea",
            gate: nil, logger: Logger(label: "test.intake"))
        pausable = PausableIntake(intake)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Every pending event's JSON as an object, in outbox order.
    func pendingEvents() async throws -> [[String: Any]] {
        let window = try await outbox.pendingWindow(limit: 100_000)
        let events = try await outbox.outboundEvents(window.map(\.sequence))
        return try events.map { try JSONSerialization.jsonObject(with: Data($0.json)) as! [String: Any] }
    }

    /// Waits until `condition` holds (checked every 100 ms) or `timeout` passes.
    static func eventually(
        timeout: Double = 30, _ condition: @Sendable () async throws -> Bool
    ) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}

/// Wraps an intake with a pause switch (as the outbox watermarks pause it).
final class PausableIntake: DocumentIntake {
    let inner: OutboxIntake
    private let paused = Mutex(false)
    private let delay = Mutex(0.0)

    init(_ inner: OutboxIntake) { self.inner = inner }

    func setPaused(_ value: Bool) { paused.withLock { $0 = value } }

    /// Makes each submit take at least `seconds` longer (a slow disk), to stretch a stream.
    func setSubmitDelay(_ seconds: Double) { delay.withLock { $0 = seconds } }

    func submit(_ document: IncomingDocument) async throws -> IntakeResult {
        let seconds = delay.withLock { $0 }
        if seconds > 0 { try await Task.sleep(for: .milliseconds(Int(seconds * 1000))) }
        return try await inner.submit(document)
    }

    func reject(
        sourceName: String, fileName: String, size: Int64, fingerprint: String, rejection: DocumentRejection,
        quarantinedAs: String?
    ) async throws {
        try await inner.reject(
            sourceName: sourceName, fileName: fileName, size: size, fingerprint: fingerprint, rejection: rejection,
            quarantinedAs: quarantinedAs)
    }

    func waitUntilAccepting() async throws {
        while paused.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(50)) }
    }
}

/// Small IDoc XML messages.
enum IDocMessage {
    static func xml(docnum: Int, sender: String = "SNDCLNT100") -> [UInt8] {
        let number = String(format: "%016d", docnum)
        return Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ORDERS05><IDOC BEGIN=\"1\">"
            + "<EDI_DC40 SEGMENT=\"1\"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT><DOCNUM>\(number)</DOCNUM>"
            + "<IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP><SNDPRN>\(sender)</SNDPRN><RCVPRN>HUB</RCVPRN>"
            + "<CREDAT>20261126</CREDAT><CRETIM>101500</CRETIM></EDI_DC40>"
            + "<E1EDK01 SEGMENT=\"1\"><BELNR>\(docnum)</BELNR></E1EDK01></IDOC></ORDERS05>\n").utf8)
    }

    static func id(docnum: Int, sender: String = "SNDCLNT100") -> String {
        "idoc:\(sender):100:" + String(format: "%016d", docnum)
    }

    /// Broken XML: the intake rejects it as malformed.
    static let poison = Array("<ORDERS05><IDOC BEGIN=\"1\"><EDI_DC40 SEGMENT=\"1\"><DOCNUM>1</DOC".utf8)
}
