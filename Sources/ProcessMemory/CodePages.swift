#if canImport(Glibc)
import Glibc
#endif

/// The pages of the program's code, its own and its libraries', that a quiet process keeps
/// mapped for nothing.
///
/// Each page fault on a file maps up to 16 pages around the one asked for (the kernel's
/// `fault_around_bytes`, 64 KiB), so the executable's 30 MiB of code come to about 20 MiB
/// resident, though an agent at rest runs less than 3 MiB of it; its shared libraries (libc,
/// libstdc++, libcrypto, libsqlite3, libxml2, ICU) hold another 7 – 8 MiB the same way. Those
/// pages are clean copies of the files in the page cache: unmapping them loses nothing, and a
/// page used again is mapped again from the cache by a minor fault, without reading the disk.
///
/// Only read-only private mappings in which no page was ever written (smaps' `Anonymous: 0
/// kB`) are released: code and read-only data. Relocated read-only data (RELRO) holds written
/// pages and is never touched, nor is anything writable. A library's mappings are released
/// only once it is pinned (`dlopen` with `RTLD_NOLOAD | RTLD_NODELETE`: the loader never
/// unloads it after that), and they are read from smaps after the pinning, so an address
/// range advised is always still that library's: never memory that a `dlclose` and a new
/// mapping put in its place.
public enum CodePages {
    /// A mapping, as `/proc/self/smaps` lists it.
    struct Mapping: Equatable {
        var start: UInt
        var end: UInt
        var readOnlyPrivate: Bool
        /// The file mapped (inode 0 for anonymous memory).
        var file: FileIdentity
        /// The file's path; nil for an anonymous mapping (inode 0).
        var path: String? = nil
        var resident = 0
        var anonymous = 0
    }

    /// A mapped file: smaps' `major:minor` device and inode.
    struct FileIdentity: Hashable {
        var device: String
        var inode: UInt64
    }

    /// Unmaps the clean read-only pages of the executable and of its pinned libraries from
    /// this process.
    ///
    /// - Returns: the bytes of address space advised (what was resident there is given back,
    ///   less what runs again soon); 0 when the mappings could not be read.
    @discardableResult
    public static func release() -> Int {
        #if canImport(Glibc)
        var advised = 0
        for range in cleanRanges {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            if madvise(start, Int(range.upperBound - range.lowerBound), MADV_DONTNEED) == 0 {
                advised += Int(range.upperBound - range.lowerBound)
            }
        }
        return advised
        #else
        return 0
        #endif
    }

    /// The address ranges `release` advises, found once: the executable's mappings never move,
    /// nor do a pinned library's, and a read-only mapping with no written page never gets one
    /// (relocations are applied when a library is loaded).
    private static let cleanRanges: [Range<UInt>] = {
        #if canImport(Glibc)
        guard let executable = executableIdentity(), let first = readMappings() else { return [] }
        let pinned = pinLibraries(libraryCandidates(in: first, executable: executable), pin: pinLoaded)
        guard let mappings = readMappings() else { return [] }
        return releasable(in: mappings, files: pinned.union([executable])).map { $0.start..<$0.end }
        #else
        return []
        #endif
    }()

    /// The mappings `release` unmaps: those of the given files, read-only, private, never
    /// written.
    static func releasable(in mappings: [Mapping], files: Set<FileIdentity>) -> [Mapping] {
        mappings.filter {
            $0.readOnlyPrivate && $0.anonymous == 0 && files.contains($0.file)
        }
    }

    /// The shared libraries worth pinning: files other than the executable, named like a
    /// shared object (`.so` or `.so.` in the name), with a clean read-only mapping.
    static func libraryCandidates(in mappings: [Mapping], executable: FileIdentity) -> [(path: String, file: FileIdentity)] {
        var seen: Set<FileIdentity> = [executable]
        var out: [(path: String, file: FileIdentity)] = []
        for mapping in mappings where mapping.readOnlyPrivate && mapping.anonymous == 0 {
            guard let path = mapping.path, path.hasPrefix("/"), !path.hasSuffix(" (deleted)"),
                  let name = path.split(separator: "/").last, name.hasSuffix(".so") || name.contains(".so.")
            else { continue }
            if seen.insert(mapping.file).inserted { out.append((path, mapping.file)) }
        }
        return out
    }

    /// The libraries `pin` pinned (a library it cannot pin, not loaded by the dynamic loader,
    /// is left alone).
    static func pinLibraries(_ candidates: [(path: String, file: FileIdentity)], pin: (String) -> Bool) -> Set<FileIdentity> {
        Set(candidates.filter { pin($0.path) }.map(\.file))
    }

    #if canImport(Glibc)
    /// Pins a library the dynamic loader has loaded: from now on it is never unloaded. Loads
    /// nothing (`RTLD_NOLOAD`): a file that is not a loaded library gives nil.
    static func pinLoaded(_ path: String) -> Bool {
        dlopen(path, RTLD_NOLOAD | RTLD_NODELETE | RTLD_LAZY) != nil
    }

    static func readMappings() -> [Mapping]? {
        readFile("/proc/self/smaps").map { smaps in smaps.withUnsafeBufferPointer { parse(bytes: $0) } }
    }
    #endif

    /// The mappings of an smaps text with their `Rss` and `Anonymous` sizes in bytes, parsed
    /// over its bytes a line at a time, without making a string of any field but the device
    /// and the path: smaps has some twenty lines per mapping, and a quiet agent reads it twice
    /// when it first gives its pages back, so the parse is what a quiet minute pays for it.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) -> [Mapping] {
        var mappings: [Mapping] = []
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            lineStart = lineEnd + 1
            if let (field, kib) = sizeField(line) {
                guard !mappings.isEmpty else { continue }
                switch field {
                case .rss: mappings[mappings.count - 1].resident = kib * 1024
                case .anonymous: mappings[mappings.count - 1].anonymous = kib * 1024
                case .other: break
                }
            } else if let mapping = header(line) {
                mappings.append(mapping)
            }
        }
        return mappings
    }

    private enum SizeField { case rss, anonymous, other }

    /// `Name:   123 kB` → (the field, 123); nil for any other line.
    private static func sizeField(_ line: UnsafeBufferPointer<UInt8>) -> (SizeField, Int)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        var at = colon + 1
        while at < line.count && line[at] == UInt8(ascii: " ") { at += 1 }
        guard let (value, after) = number(line, from: at, radix: 10), after + 3 == line.count,
              line[after] == UInt8(ascii: " "), line[after + 1] == UInt8(ascii: "k"), line[after + 2] == UInt8(ascii: "B")
        else { return nil }
        let kib = Int(clamping: value)
        let name = UnsafeBufferPointer(rebasing: line[0..<colon])
        if name.elementsEqual("Rss".utf8) { return (.rss, kib) }
        if name.elementsEqual("Anonymous".utf8) { return (.anonymous, kib) }
        return (.other, kib)
    }

    /// A mapping's first line: `start-end perms offset major:minor inode [path]`.
    private static func header(_ line: UnsafeBufferPointer<UInt8>) -> Mapping? {
        // Field lines (`VmFlags: rd ex`) start with a capital, a mapping with its address.
        guard number(line, from: 0, radix: 16) != nil else { return nil }
        // The first five space-separated fields.
        var fields: [Range<Int>] = []
        fields.reserveCapacity(5)
        var at = 0
        while fields.count < 5 {
            while at < line.count && line[at] == UInt8(ascii: " ") { at += 1 }
            guard at < line.count else { return nil }
            let begin = at
            while at < line.count && line[at] != UInt8(ascii: " ") { at += 1 }
            fields.append(begin..<at)
        }
        let range = fields[0]
        guard let (start, dash) = number(line, from: range.lowerBound, radix: 16), dash < range.upperBound,
              line[dash] == UInt8(ascii: "-"), let (end, rangeEnd) = number(line, from: dash + 1, radix: 16),
              rangeEnd == range.upperBound,
              let (inode, inodeEnd) = number(line, from: fields[4].lowerBound, radix: 10), inodeEnd == fields[4].upperBound
        else { return nil }
        let perms = UnsafeBufferPointer(rebasing: line[fields[1]])
        // The path: the rest of the line after the spaces that align it (it may hold spaces).
        while at < line.count && line[at] == UInt8(ascii: " ") { at += 1 }
        let path = inode != 0 && at < line.count ? String(decoding: UnsafeBufferPointer(rebasing: line[at...]), as: UTF8.self) : nil
        return Mapping(
            start: UInt(start), end: UInt(end),
            readOnlyPrivate: perms.count == 4 && !perms.contains(UInt8(ascii: "w")) && perms[3] == UInt8(ascii: "p"),
            file: FileIdentity(device: String(decoding: UnsafeBufferPointer(rebasing: line[fields[3]]), as: UTF8.self), inode: inode),
            path: path)
    }

    /// The unsigned number of at least one digit at `from`, and where it ends; nil when there
    /// is no digit there or it overflows.
    private static func number(_ line: UnsafeBufferPointer<UInt8>, from: Int, radix: UInt64) -> (UInt64, Int)? {
        var value: UInt64 = 0
        var at = from
        while at < line.count {
            let byte = line[at]
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt64(byte - UInt8(ascii: "a")) + 10
            default: digit = radix
            }
            guard digit < radix else { break }
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: radix)
            let (sum, overflowSum) = times.addingReportingOverflow(digit)
            guard !overflowTimes, !overflowSum else { return nil }
            value = sum
            at += 1
        }
        return at > from ? (value, at) : nil
    }

    #if canImport(Glibc)
    /// The executable's device (as smaps writes it, `major:minor` in hex) and inode.
    static func executableIdentity() -> FileIdentity? {
        var status = stat()
        guard stat("/proc/self/exe", &status) == 0 else { return nil }
        let dev = UInt64(status.st_dev)
        // glibc's `major` and `minor` (macros, not imported into Swift).
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        let hex = { (v: UInt64) in
            let digits = String(v, radix: 16)
            return digits.count < 2 ? "0" + digits : digits
        }
        return FileIdentity(device: hex(major) + ":" + hex(minor), inode: UInt64(status.st_ino))
    }

    /// A whole `/proc` file (whose size `stat` does not tell).
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }
    #endif
}
