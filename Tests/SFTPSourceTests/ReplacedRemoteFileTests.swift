import RawDocument
import Intake
import EventModel
import FileSourceSupport
import Foundation
import Glibc
import Logging
import Outbox
@testable import SFTPSource
import Synchronization
import Testing
import TestSupport

/// A writer renames a new file over a document's name on the server while the agent works
/// on the first one: at every step of the real intake (hash, decode, commit, sync) and right
/// before the source moves or deletes the file. Only the file read may be moved or deleted;
/// the new one must stay and be read at a later poll.
@Suite(
    "SFTPSource with a file replaced while it is handled",
    .enabled(if: IntegrationGate.runs(TestSSHServer.isAvailable), "needs OpenSSH's /usr/sbin/sshd: apt-get install -y openssh-server"))
struct ReplacedRemoteFileTests {
    enum Moment: String, CaseIterable, CustomTestStringConvertible {
        case hashing, decoding, committing, syncing, acknowledging
        var testDescription: String { rawValue }
        var stage: IntakeStage? {
            switch self {
            case .hashing: .hashing
            case .decoding: .decoding
            case .committing: .committing
            case .syncing: .syncing
            case .acknowledging: nil
            }
        }
    }

    @Test("after: move archives the file read; a file renamed over its name is picked up too", arguments: Moment.allCases)
    func moved(_ moment: Moment) async throws {
        let fixture = try SFTPFixture()
        try await run(fixture, moment, settings: fixture.keySettings())
    }

    @Test("after: delete removes only the file read", arguments: [Moment.syncing, .acknowledging])
    func deleted(_ moment: Moment) async throws {
        let fixture = try SFTPFixture()
        try await run(fixture, moment, settings: fixture.keySettings(after: .delete))
    }

    @Test(
        "a server that refuses renames: size and mtime are checked before the delete",
        arguments: [Moment.hashing, .syncing, .acknowledging])
    func unclaimed(_ moment: Moment) async throws {
        let fixture = try SFTPFixture(deniedRequests: "rename,posix-rename")
        try await run(fixture, moment, settings: fixture.keySettings(after: .delete))
    }

    @Test("a claim left behind on the server (a stop or crash) gets its name back and is picked up")
    func leftoverClaimRestored() async throws {
        let fixture = try SFTPFixture()
        try fixture.write(ClaimName.of("PO.xml"), "claimed before the crash")
        chmod(fixture.inbox + "/" + ClaimName.of("PO.xml"), 0o666)
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually("archived under its own name") { fixture.exists(fixture.archive + "/PO.xml") }
        }
        #expect(intake.submittedNames == ["PO.xml"])
        #expect(fixture.names(in: fixture.inbox) == ["archive"])
    }

    private func run(_ fixture: SFTPFixture, _ moment: Moment, settings: SFTPSourceSettings) async throws {
        let outbox = try Outbox(path: fixture.server.directory + "/outbox.sqlite")
        let inbox = fixture.inbox
        let fired = Atomic<Bool>(false)
        let replace: @Sendable () -> Void = {
            guard !fired.exchange(true, ordering: .relaxed) else { return }
            let temporary = inbox + "/.PO.xml.new"
            FileManager.default.createFile(atPath: temporary, contents: Data("second IDoc".utf8))
            chmod(temporary, 0o666)
            rename(temporary, inbox + "/PO.xml")
        }
        let intake = OutboxIntake(
            outbox: outbox, codecs: [.raw: RawCodec()], agentID: "agent-1", region: "emea", gate: nil,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            stageHook: { stage, document in
                if stage == moment.stage, document.fileName == "PO.xml" { replace() }
            })
        let expected = ["first IDoc", "second IDoc"]
        try fixture.write("PO.xml", "first IDoc")
        chmod(inbox + "/PO.xml", 0o666)
        let source = SFTPSource(
            settings: settings, intake: intake, logger: SFTPFixture.logger(),
            beforeAcknowledge: { path in if moment == .acknowledging, path.hasSuffix("/PO.xml") { replace() } })
        try await fixture.running(source) {
            try await eventually("the files committed and gone from the inbox") {
                source.status.filesPickedUp == expected.count && fixture.names(in: inbox).filter { $0 != "archive" }.isEmpty
            }
        }
        let writerRan = fired.load(ordering: .relaxed)
        #expect(writerRan, "the writer must have run")
        let events = try await outbox.outboundEvents(outbox.pendingWindow(limit: 10).map(\.sequence))
        let contents = events.map { event -> String in
            let json = try? JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any]
            let base64 = json?["data_base64"] as? String ?? ""
            return String(decoding: Data(base64Encoded: base64) ?? Data(), as: UTF8.self)
        }
        #expect(contents == expected)
        if case .move = settings.after {
            let archived = fixture.names(in: fixture.archive)
            #expect(Set(archived.compactMap { try? String(contentsOfFile: fixture.archive + "/" + $0, encoding: .utf8) })
                == Set(expected))
        } else {
            #expect(!fixture.exists(fixture.archive))
        }
        try await outbox.close()
    }
}
