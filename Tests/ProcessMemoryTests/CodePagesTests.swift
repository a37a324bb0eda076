#if canImport(Glibc)
import Glibc
@testable import ProcessMemory
import Testing

@Suite("Code pages")
struct CodePagesTests {
    /// This test process's mappings of its own executable, from smaps.
    private func ownMappings() throws -> [CodePages.Mapping] {
        let executable = try #require(CodePages.executableIdentity())
        return try #require(CodePages.readMappings()).filter { $0.file == executable }
    }

    /// This process's mappings of the C library (every Swift program on Linux loads it).
    private func libcMappings() throws -> [CodePages.Mapping] {
        try #require(CodePages.readMappings()).filter { $0.path?.hasSuffix("/libc.so.6") == true }
    }

    @Test("the executable's clean read-only pages are unmapped; the process runs on")
    func releasesCleanPages() throws {
        let before = try ownMappings()
        let clean = before.filter { $0.readOnlyPrivate && $0.anonymous == 0 }
        let cleanResident = clean.reduce(0) { $0 + $1.resident }
        #expect(cleanResident > 1 << 20, "the test executable has megabytes of code resident")
        let libcClean = try libcMappings().filter { $0.readOnlyPrivate && $0.anonymous == 0 }
        let libcResident = libcClean.reduce(0) { $0 + $1.resident }
        #expect(libcResident > 256 << 10, "libc has its code resident")
        let released = CodePages.release()
        #expect(released >= cleanResident + libcResident)
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
        // The libraries' clean pages go too (libc's, pinned first), and what runs comes back.
        let libcAfter = try libcMappings().filter { m in libcClean.contains { $0.start == m.start } }.reduce(0) { $0 + $1.resident }
        #expect(libcAfter < libcResident / 2, "libc's clean pages \(libcResident) → \(libcAfter) bytes resident")
        #expect(strlen("still runs") == 10)
        // A second release (the ranges are remembered) gives back what ran since.
        #expect(CodePages.release() == released)
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
        let mappings = Array(text.utf8).withUnsafeBufferPointer { CodePages.parse(bytes: $0) }
        #expect(mappings.count == 8)
        #expect(mappings[6].anonymous == 16 << 10, "each size goes to its own mapping")
        #expect(mappings[7].start == 0xffffffffff600000 && mappings[7].end == 0xffffffffff601000)
        #expect(mappings[1] == CodePages.Mapping(
            start: 0x5600aa200000, end: 0x5600ac000000, readOnlyPrivate: true, file: CodePages.FileIdentity(device: "fd:01", inode: 4242),
            path: "/usr/bin/outpost (deleted)", resident: 20 << 20, anonymous: 0))
        #expect(mappings[1].path == "/usr/bin/outpost (deleted)")
        #expect(mappings[4].path == "/usr/lib/libc.so.6")
        #expect(mappings[6].path == nil && mappings[7].path == nil, "no file, no path")
        let outpost = CodePages.FileIdentity(device: "fd:01", inode: 4242)
        let libc = CodePages.FileIdentity(device: "fd:01", inode: 77)
        let releasable = CodePages.releasable(in: mappings, files: [outpost])
        #expect(releasable.map(\.start) == [0x5600aa000000, 0x5600aa200000])
        #expect(CodePages.releasable(in: mappings, files: [outpost, libc]).map(\.start) == [0x5600aa000000, 0x5600aa200000, 0x7f0000000000])
        #expect(CodePages.releasable(in: mappings, files: [CodePages.FileIdentity(device: "fd:02", inode: 4242)]).isEmpty)
    }

    @Test("a library is released only when pinned: named like one, loaded, never unloaded after")
    func pinsLibrariesFirst() throws {
        let text = """
            5600aa000000-5600aa200000 r-xp 00000000 fd:01 4242                       /usr/bin/outpost
            Anonymous:             0 kB
            7f0000000000-7f0000100000 r-xp 00000000 fd:01 77                         /usr/lib/x86_64-linux-gnu/libc.so.6
            Anonymous:             0 kB
            7f0000100000-7f0000110000 r--p 00100000 fd:01 77                         /usr/lib/x86_64-linux-gnu/libc.so.6
            Anonymous:            64 kB
            7f0000200000-7f0000300000 r-xp 00000000 fd:01 78                         /opt/plugin/libgone.so
            Anonymous:             0 kB
            7f0000400000-7f0000500000 r--p 00000000 fd:01 79                         /var/lib/outpost/report.so-far
            Anonymous:             0 kB
            7f0000600000-7f0000700000 r--p 00000000 fd:01 80                         /usr/lib/locale/locale-archive
            Anonymous:             0 kB
            7f0000800000-7f0000900000 r-xp 00000000 fd:01 81                         /usr/lib/libold.so.1 (deleted)
            Anonymous:             0 kB
            7f0000a00000-7f0000b00000 rw-p 00000000 fd:01 82                         /usr/lib/libdata.so.2
            Anonymous:             0 kB
            """
        let mappings = Array(text.utf8).withUnsafeBufferPointer { CodePages.parse(bytes: $0) }
        let outpost = CodePages.FileIdentity(device: "fd:01", inode: 4242)
        let candidates = CodePages.libraryCandidates(in: mappings, executable: outpost)
        #expect(candidates.map(\.path) == ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/opt/plugin/libgone.so"],
                "shared objects with a clean read-only mapping, once each; not the executable, data files, deleted or writable ones")
        var asked: [String] = []
        let pinned = CodePages.pinLibraries(candidates) { path in
            asked.append(path)
            return !path.hasSuffix("libgone.so")  // unloaded since smaps was read: the loader does not have it
        }
        #expect(asked.count == 2)
        #expect(pinned == [CodePages.FileIdentity(device: "fd:01", inode: 77)])
        #expect(CodePages.releasable(in: mappings, files: pinned.union([outpost])).map(\.start) == [0x5600aa000000, 0x7f0000000000],
                "libc's written RELRO stays")
    }

    @Test("pinning asks the loader: a loaded library is pinned, a file it did not load is not loaded by it")
    func pinningLoadsNothing() throws {
        let libc = try #require(try libcMappings().compactMap(\.path).first)
        #expect(CodePages.pinLoaded(libc))
        // A real shared object this process has not loaded, found beside libc.
        let slash = try #require(libc.lastIndex(of: "/"))
        let directory = String(libc[..<slash])
        let unloaded = try #require(["libbz2.so.1.0", "libbz2.so.1", "libutil.so.1", "libanl.so.1", "libcrypt.so.1"]
            .map { directory + "/" + $0 }
            .first { path in access(path, R_OK) == 0 && CodePages.readMappings()?.contains { $0.path == path } == false })
        #expect(!CodePages.pinLoaded(unloaded), "RTLD_NOLOAD: \(unloaded) is not loaded")
        #expect(try #require(CodePages.readMappings()).contains { $0.path == unloaded } == false, "and it stays unloaded")
        #expect(!CodePages.pinLoaded("/etc/passwd"), "not a shared object")
    }
}
#endif
