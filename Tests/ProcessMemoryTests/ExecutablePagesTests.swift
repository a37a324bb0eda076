#if canImport(Glibc)
import Glibc
@testable import ProcessMemory
import Testing

@Suite("Executable pages")
struct ExecutablePagesTests {
    /// This test process's mappings of its own executable, from smaps.
    private func ownMappings() throws -> [ExecutablePages.Mapping] {
        let smaps = try #require(ExecutablePages.readFile("/proc/self/smaps"))
        let executable = try #require(ExecutablePages.executableIdentity())
        return smaps.withUnsafeBufferPointer { ExecutablePages.parse(bytes: $0) }.filter { $0.device == executable.device && $0.inode == executable.inode }
    }

    @Test("the executable's clean read-only pages are unmapped; the process runs on")
    func releasesCleanPages() throws {
        let before = try ownMappings()
        let clean = before.filter { $0.readOnlyPrivate && $0.anonymous == 0 }
        let cleanResident = clean.reduce(0) { $0 + $1.resident }
        #expect(cleanResident > 1 << 20, "the test executable has megabytes of code resident")
        let released = ExecutablePages.release()
        #expect(released >= cleanResident)
        let after = try ownMappings()
        let residentAfter = after.filter { m in clean.contains { $0.start == m.start } }.reduce(0) { $0 + $1.resident }
        #expect(residentAfter < cleanResident / 2, "clean pages \(cleanResident) → \(residentAfter) bytes resident")
        // Written pages (relocated read-only data, writable data) are left as they were: the
        // code below runs through them; a released RELRO page would bring back unrelocated
        // pointers and crash here.
        let written = before.filter { $0.anonymous > 0 }
        #expect(!written.isEmpty)
        for mapping in written {
            let now = try #require(after.first { $0.start == mapping.start })
            #expect(now.anonymous >= mapping.anonymous)
        }
        #expect(String(describing: [1, 2, 3].map { $0 * 2 }) == "[2, 4, 6]")
        // A second release (the ranges are remembered) gives back what ran since.
        #expect(ExecutablePages.release() == released)
        let again = try ownMappings().filter { m in clean.contains { $0.start == m.start } }.reduce(0) { $0 + $1.resident }
        #expect(again < cleanResident / 2)
    }

    @Test("smaps is read into mappings with their resident and written sizes")
    func parsesSmaps() {
        let text = """
            5600aa000000-5600aa200000 r--p 00000000 fd:01 4242                       /usr/bin/outpost
            Size:               2048 kB
            Rss:                1024 kB
            Anonymous:             0 kB
            5600aa200000-5600ac000000 r-xp 00200000 fd:01 4242                       /usr/bin/outpost (deleted)
            Rss:               20480 kB
            Anonymous:             0 kB
            5600ac000000-5600ac100000 r--p 01e00000 fd:01 4242                       /usr/bin/outpost
            Rss:                1024 kB
            Anonymous:           512 kB
            5600ac100000-5600ac200000 rw-p 01f00000 fd:01 4242                       /usr/bin/outpost
            Rss:                 100 kB
            Anonymous:             0 kB
            7f0000000000-7f0000100000 r-xp 00000000 fd:01 77                         /usr/lib/libc.so.6
            Rss:                 900 kB
            Anonymous:             0 kB
            7f0000200000-7f0000300000 r--s 00000000 fd:01 4242                       /usr/bin/outpost
            Rss:                   4 kB
            Anonymous:             0 kB
            7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
            Rss:                  16 kB
            Anonymous:            16 kB
            ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
            Rss:                   0 kB
            Anonymous:             0 kB
            VmFlags: rd ex
            """
        let mappings = Array(text.utf8).withUnsafeBufferPointer { ExecutablePages.parse(bytes: $0) }
        #expect(mappings.count == 8)
        #expect(mappings[6].anonymous == 16 << 10, "each size goes to its own mapping")
        #expect(mappings[7].start == 0xffffffffff600000 && mappings[7].end == 0xffffffffff601000)
        #expect(mappings[1] == ExecutablePages.Mapping(
            start: 0x5600aa200000, end: 0x5600ac000000, readOnlyPrivate: true, device: "fd:01", inode: 4242,
            resident: 20 << 20, anonymous: 0))
        let releasable = ExecutablePages.releasable(in: mappings, executable: ("fd:01", 4242))
        #expect(releasable.map(\.start) == [0x5600aa000000, 0x5600aa200000])
        #expect(ExecutablePages.releasable(in: mappings, executable: ("fd:02", 4242)).isEmpty)
    }
}
#endif
