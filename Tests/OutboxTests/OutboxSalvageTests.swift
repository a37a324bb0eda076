import EventModel
import Foundation
import GRDB
import Outbox
import Testing

@Suite("Salvaging a damaged outbox")
struct OutboxSalvageTests {
    /// An outbox of `count` pending events (about 1 KB each), checkpointed, copied to `copy`.
    func filledCopy(_ fixture: OutboxFixture, count: Int, copy: String) async throws {
        for start in stride(from: 0, to: count, by: 100) {
            try await fixture.append((start..<min(start + 100, count)).map { event("e\($0)", key: "k\($0 % 3)", padding: 1000) })
        }
        _ = try fixture.query { db in try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)").count }
        try FileManager.default.copyItem(atPath: fixture.path, toPath: copy)
    }

    @Test("a healthy file is copied whole: every event with its payload, seq and state")
    func healthyCopy() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let damaged = fixture.directory + "/copy.sqlite"
        try await filledCopy(fixture, count: 300, copy: damaged)
        let report = try OutboxSalvage.copy(from: damaged, into: fixture.directory + "/new/outbox.sqlite")
        #expect(report.events == ["pending": 300])
        #expect(report.unreadable.isEmpty && report.failure == nil && report.eventsWithoutPayload == 0)
        let recovered = try Outbox(path: fixture.directory + "/new/outbox.sqlite")
        let window = try await recovered.pendingWindow(limit: 1000)
        let original = try await fixture.outbox.pendingWindow(limit: 1000)
        #expect(window.map(\.sequence) == original.map(\.sequence))
        let sent = try await recovered.outboundEvents(window.map(\.sequence))
        let expected = try await fixture.outbox.outboundEvents(original.map(\.sequence))
        #expect(sent == expected, "the same JSON bytes, ids and keys")
    }

    @Test("an outbox a newer version changed is not salvaged: refused before anything is created")
    func newerOutboxIsRefused() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let newer = fixture.directory + "/copy.sqlite"
        try await filledCopy(fixture, count: 10, copy: newer)
        try markMigrated(newer, "v2-from-a-newer-version")
        let fresh = fixture.directory + "/new/outbox.sqlite"
        #expect(throws: OutboxError.newer(path: newer, migrations: ["v2-from-a-newer-version"])) {
            try OutboxSalvage.copy(from: newer, into: fresh)
        }
        #expect(!FileManager.default.fileExists(atPath: fresh), "nothing is created")
    }

    @Test("a truncated file: the readable rows are kept, the new outbox is healthy and takes new events")
    func truncatedCopy() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let damaged = fixture.directory + "/copy.sqlite"
        try await filledCopy(fixture, count: 600, copy: damaged)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: damaged)[.size] as? Int)
        #expect(truncate(damaged, off_t(size * 6 / 10)) == 0)
        let fresh = fixture.directory + "/new/outbox.sqlite"
        let report = try OutboxSalvage.copy(from: damaged, into: fresh)
        #expect(report.failure == nil)
        #expect(report.eventTotal > 0 && report.eventTotal < 600, "\(report)")
        #expect(!report.unreadable.isEmpty)
        let recovered = try Outbox(path: fresh)
        #expect(try recovered.integrityProblems().isEmpty)
        let window = try await recovered.pendingWindow(limit: 1000)
        #expect(window.count == report.eventTotal)
        let sent = try await recovered.outboundEvents(window.map(\.sequence))
        #expect(sent.allSatisfy { String(decoding: $0.json, as: UTF8.self).contains("\"id\":\"\($0.id)\"") }, "each payload belongs to its event")
        let inserted = try await recovered.commit { tx in
            try tx.append(event("after-recovery"), source: "src", fileName: "g.xml")
            return tx.inserted
        }
        #expect(inserted == 1)
        let last = try #require(try await recovered.pendingWindow(limit: 1000).last)
        #expect(try await recovered.outboundEvents([last.sequence]).map(\.id) == ["after-recovery"])
        #expect(last.sequence > (window.last?.sequence ?? 0), "new events come after the recovered ones")
    }

    @Test("a file that is not SQLite at all: nothing is read, the new outbox is empty and usable")
    func notADatabase() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let damaged = fixture.directory + "/garbage.sqlite"
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: damaged))
        let report = try OutboxSalvage.copy(from: damaged, into: fixture.directory + "/new/outbox.sqlite")
        #expect(report.failure != nil)
        #expect(report.eventTotal == 0)
        let recovered = try Outbox(path: fixture.directory + "/new/outbox.sqlite")
        #expect(try recovered.integrityProblems().isEmpty)
    }
}
