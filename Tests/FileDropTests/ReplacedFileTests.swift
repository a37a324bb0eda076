import RawDocument
import Intake
import EventModel
import FileSourceSupport
import FileDrop
import Foundation
import Glibc
import Logging
import Outbox
import Synchronization
import Testing

/// A writer renames a new file over a document's name while the agent works on the first
/// one: at every step of the real intake (hash, decode, commit, sync) and right before the
/// source acts on the file. Only the file read may be archived or deleted; the new one must
/// stay and be read at the next pickup.
@Suite("FileDropSource with a file replaced while it is handled")
struct ReplacedFileTests {
    enum Moment: String, CaseIterable, CustomTestStringConvertible {
        case hashing, decoding, committing, syncing, claiming
        var testDescription: String { rawValue }
        var stage: IntakeStage? {
            switch self {
            case .hashing: .hashing
            case .decoding: .decoding
            case .committing: .committing
            case .syncing: .syncing
            case .claiming: nil
            }
        }
    }

    @Test("both files are committed; the file renamed over the name is read, then archived", arguments: Moment.allCases)
    func archived(_ moment: Moment) async throws {
        try await run(moment, after: nil)
    }

    @Test("with after: delete only the file read is deleted", arguments: [Moment.syncing, .claiming])
    func deleted(_ moment: Moment) async throws {
        try await run(moment, after: .delete)
    }

    @Test("a claim left behind (a crash between claim and archive) gets its name back and is picked up")
    func leftoverClaimRestored() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        try fixture.write(ClaimName.of("PO.xml"), "claimed before the crash", age: 5)
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { _ in
            #expect(await eventually { intake.submittedNames == ["PO.xml"] })
            #expect(await eventually { (try? FileManager.default.contentsOfDirectory(atPath: fixture.drop))?.isEmpty == true })
        }
        #expect(fixture.contents(fixture.archiveToday + "/PO.xml") == "claimed before the crash")
    }

    private func run(_ moment: Moment, after: FileDropSettings.AfterPickup?) async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let outbox = try Outbox(path: fixture.root + "/outbox.sqlite")
        let drop = fixture.drop
        let fired = Atomic<Bool>(false)
        let replace: @Sendable () -> Void = {
            guard !fired.exchange(true, ordering: .relaxed) else { return }
            let temporary = drop + "/.PO.xml.new"
            FileManager.default.createFile(atPath: temporary, contents: Data("second IDoc".utf8))
            rename(temporary, drop + "/PO.xml")
        }
        let intake = OutboxIntake(
            outbox: outbox, codecs: [.raw: RawCodec()], agentID: "agent-1", region: "emea", gate: nil,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            stageHook: { stage, document in
                if stage == moment.stage, document.fileName == "PO.xml" { replace() }
            })
        try fixture.write("PO.xml", "first IDoc", age: 5)
        let source = FileDropSource(
            settings: fixture.settings(after: after), intake: intake,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            beforeClaim: { name in if moment == .claiming, name == "PO.xml" { replace() } })
        let task = Task { try await source.run() }
        let bothCommitted = await eventually { source.status.filesPickedUp == 2 && !fixture.exists(drop + "/PO.xml") }
        task.cancel()
        try await task.value
        let writerRan = fired.load(ordering: .relaxed)
        #expect(writerRan, "the writer must have run")
        #expect(bothCommitted, "the file renamed over the name must be picked up too")

        let events = try await outbox.outboundEvents(outbox.pendingWindow(limit: 10).map(\.sequence))
        let contents = events.map { event -> String in
            let json = try? JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any]
            let base64 = json?["data_base64"] as? String ?? ""
            return String(decoding: Data(base64Encoded: base64) ?? Data(), as: UTF8.self)
        }
        #expect(contents == ["first IDoc", "second IDoc"])
        let archived = (try? FileManager.default.contentsOfDirectory(atPath: fixture.archiveToday)) ?? []
        if after == .delete {
            #expect(archived.isEmpty)
        } else {
            // The writer's rename unlinked the first file (its events hold it); the second is
            // archived under the name, and nothing else is.
            #expect(archived.compactMap { fixture.contents(fixture.archiveToday + "/" + $0) } == ["second IDoc"])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: drop).isEmpty, "no claim may be left behind")
        try await outbox.close()
    }
}
