import EventModel
import Foundation
import Glibc
import Outbox
import Testing

/// The outbox holds every document read: its directory and files are its owner's alone,
/// whatever the umask.
@Suite("Outbox file modes")
struct OutboxFileModeTests {
    func mode(_ path: String) -> mode_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : nil
    }

    @Test("a new outbox: data directory 0700, database, log and index 0600, even with umask 000")
    func newOutbox() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-modes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/data/outbox.sqlite"
        let previous = umask(0)
        let outbox: Outbox
        do {
            defer { umask(previous) }
            outbox = try Outbox(path: path)
        }
        _ = try await outbox.commit { tx in try tx.append(event("a"), source: "s", fileName: "f") }
        #expect(mode(root + "/data") == 0o700)
        #expect(mode(path) == 0o600)
        #expect(mode(path + "-wal") == 0o600)
        #expect(mode(path + "-shm") == 0o600)
        try await outbox.close()
    }

    @Test("an outbox whose files others can read is narrowed to 0600 when opened")
    func laxOutboxNarrowed() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        _ = try await fixture.append([event("a")])
        try await fixture.outbox.close()
        chmod(fixture.path, 0o644)
        let reopened = try Outbox(path: fixture.path)
        #expect(mode(fixture.path) == 0o600)
        _ = try await reopened.commit { tx in try tx.append(event("b"), source: "s", fileName: "f") }
        #expect(mode(fixture.path + "-wal") == 0o600)
        try await reopened.close()
    }
}
