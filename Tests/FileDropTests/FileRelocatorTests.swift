import Foundation
import Glibc
import Testing
@testable import FileDrop

@Suite("FileRelocator")
struct FileRelocatorTests {
    @Test("a move picks the first free suffix, also keeping the companion name free")
    func suffixes() throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        try Data("taken".utf8).write(to: URL(fileURLWithPath: fixture.errors + "/x"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: fixture.errors + "/x.1.reason.json"))
        let source = try fixture.write("x", "mine")
        #expect(FileRelocator.firstFreeName(in: fixture.errors, name: "x", reserving: ".reason.json") == "x.2")
        let destination = try FileRelocator.move(source, into: fixture.errors, name: "x", reserving: ".reason.json")
        #expect(destination == fixture.errors + "/x.2")
        #expect(fixture.contents(destination) == "mine")
        #expect(fixture.contents(fixture.errors + "/x") == "taken")
        #expect(!fixture.exists(source))
    }

    @Test(
        "across filesystems a file is copied, synced and removed; a symlink is recreated",
        .enabled(if: FileRelocatorTests.sharedMemoryIsAnotherFilesystem, "/dev/shm is missing or on the same filesystem"))
    func acrossFilesystems() throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let other = "/dev/shm/filedrop-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: other) }
        try Data("old".utf8).write(to: URL(fileURLWithPath: other + "/f.xml"))
        let file = try fixture.write("f.xml", String(repeating: "z", count: 3 << 20))
        let moved = try FileRelocator.move(file, into: other, name: "f.xml")
        #expect(moved == other + "/f.xml.1")
        #expect(fixture.contents(moved) == String(repeating: "z", count: 3 << 20))
        #expect(fixture.contents(other + "/f.xml") == "old")
        #expect(!fixture.exists(file))

        let link = fixture.drop + "/l.xml"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/etc/hostname")
        let movedLink = try FileRelocator.move(link, into: other, name: "l.xml")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: movedLink) == "/etc/hostname")
        #expect(!fixture.exists(link))
    }

    static var sharedMemoryIsAnotherFilesystem: Bool {
        var shm = stat(), temporary = stat()
        guard stat("/dev/shm", &shm) == 0, stat(FileManager.default.temporaryDirectory.path, &temporary) == 0 else {
            return false
        }
        return shm.st_dev != temporary.st_dev
    }
}
