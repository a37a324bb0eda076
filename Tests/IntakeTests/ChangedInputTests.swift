import Intake
import EventModel
import Foundation
import Glibc
import Outbox
import Synchronization
import Testing

/// A file written to while the intake reads it: the hash and the decoder read it one after
/// the other, so its events would be those of another version than its hash (and of its
/// `doc:<sha256>:<ordinal>` ids). Nothing of it may be committed; read again, it commits once.
@Suite("OutboxIntake with an input that changes while it is read")
struct ChangedInputTests {
    @Test(
        "a file appended to after its hash commits nothing; read again, it commits once",
        arguments: [IntakeStage.decoding, .committing])
    func appendedWhileRead(_ stage: IntakeStage) async throws {
        let fired = Atomic<Bool>(false)
        let fixture = try AgentFixture(stageHook: { current, document in
            guard current == stage, case .fileDescriptor(let fd) = document.input,
                  !fired.exchange(true, ordering: .relaxed)
            else { return }
            // The same file, opened again for writing (the intake's descriptor is read-only).
            let writer = open("/proc/self/fd/\(fd)", O_WRONLY | O_APPEND)
            precondition(writer >= 0)
            _ = " and the rest".withCString { write(writer, $0, strlen($0)) }
            close(writer)
        })
        defer { fixture.removeAll() }
        let first = Array("the first part".utf8)
        let path = try fixture.writeFile("PO.bin", first)

        await #expect(throws: InputChangedWhileRead.self) { try await fixture.submitFile(path, format: .raw) }
        let writerRan = fired.load(ordering: .relaxed)
        #expect(writerRan)
        #expect(try await fixture.pendingEvents().isEmpty, "nothing of the changed read may be committed")
        #expect(try await fixture.outbox.receipt(source: "drop", sha256: systemSHA256(first)) == nil)

        let whole = Array("the first part and the rest".utf8)
        let sha = try systemSHA256(whole)
        #expect(try await fixture.submitFile(path, format: .raw) == .committed(events: 1, inserted: 1, sha256: sha))
        let events = try await fixture.pendingEvents()
        #expect(events.map { $0["id"] as? String } == ["doc:\(sha):0"])
        #expect(events.map { $0["data_base64"] as? String } == [Data(whole).base64EncodedString()])
    }
}
