import Foundation
import Glibc
import Testing
@testable import FileDrop

@Suite("OpenWriterProbe")
struct OpenWriterProbeTests {
    private func withProbeTarget(_ body: (String, Int32, stat) throws -> Void) throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let path = try fixture.write("probe.xml", "data")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        var st = stat()
        #expect(fstat(fd, &st) == 0)
        try body(path, fd, st)
    }

    @Test("the lease layer sees a writer and answers for certain when there is none")
    func lease() throws {
        try withProbeTarget { path, fd, st in
            #expect(OpenWriterProbe.check(descriptor: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                == .noWriter(certain: true))
            let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            #expect(OpenWriterProbe.check(descriptor: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                == .writing)
            try writer.close()
            #expect(OpenWriterProbe.check(descriptor: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                == .noWriter(certain: true))
        }
    }

    @Test("the /proc fallback finds a writer of the same inode, and not a reader")
    func processScan() throws {
        try withProbeTarget { path, _, st in
            let device = UInt64(st.st_dev), inode = UInt64(st.st_ino)
            #expect(!OpenWriterProbe.scanProcesses(device: device, inode: inode), "a reader is not a writer")
            let writer = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            #expect(OpenWriterProbe.scanProcesses(device: device, inode: inode))
            try writer.close()
            #expect(!OpenWriterProbe.scanProcesses(device: device, inode: inode))
        }
    }

    @Test("an inotify open mark blocks pickup unless the lease proved there is no writer")
    func layering() {
        #expect(!OpenWriterProbe.Verdict.writing.allowsPickup(inotifyOpenMark: false))
        #expect(!OpenWriterProbe.Verdict.writing.allowsPickup(inotifyOpenMark: true))
        #expect(OpenWriterProbe.Verdict.noWriter(certain: true).allowsPickup(inotifyOpenMark: true))
        #expect(OpenWriterProbe.Verdict.noWriter(certain: false).allowsPickup(inotifyOpenMark: false))
        #expect(!OpenWriterProbe.Verdict.noWriter(certain: false).allowsPickup(inotifyOpenMark: true))
    }
}
