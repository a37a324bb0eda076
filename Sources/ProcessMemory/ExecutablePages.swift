#if canImport(Glibc)
import Glibc
#endif

/// The pages of the program's own executable that a quiet process keeps mapped for nothing.
///
/// Each page fault on a file maps up to 16 pages around the one asked for (the kernel's
/// `fault_around_bytes`, 64 KiB), so the executable's 30 MiB of code come to about 20 MiB
/// resident, though an agent at rest runs less than 3 MiB of it. Those pages are clean copies
/// of the file in the page cache: unmapping them loses nothing, and a page used again is
/// mapped again from the cache by a minor fault, without reading the disk.
///
/// Only read-only private mappings of the executable file in which no page was ever written
/// (smaps' `Anonymous: 0 kB`) are released: code and read-only data. The relocated read-only
/// data (RELRO) holds written pages and is never touched, nor is anything writable.
public enum ExecutablePages {
    /// A mapping of the executable, as `/proc/self/smaps` lists it.
    struct Mapping: Equatable {
        var start: UInt
        var end: UInt
        var readOnlyPrivate: Bool
        var device: String
        var inode: UInt64
        var resident = 0
        var anonymous = 0
    }

    /// Unmaps the executable's clean read-only pages from this process.
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

    /// The address ranges `release` advises, read from smaps once: the executable's mappings
    /// never move, and a read-only one with no written page never gets one (relocations are
    /// applied before `main`).
    private static let cleanRanges: [Range<UInt>] = {
        #if canImport(Glibc)
        guard let executable = executableIdentity(), let smaps = readFile("/proc/self/smaps") else { return [] }
        let mappings = smaps.withUnsafeBufferPointer { parse(bytes: $0) }
        return releasable(in: mappings, executable: executable).map { $0.start..<$0.end }
        #else
        return []
        #endif
    }()

    /// The mappings `release` unmaps: the executable's, read-only, private, never written.
    static func releasable(in mappings: [Mapping], executable: (device: String, inode: UInt64)) -> [Mapping] {
        mappings.filter {
            $0.device == executable.device && $0.inode == executable.inode && $0.readOnlyPrivate && $0.anonymous == 0
        }
    }

    /// The mappings of an smaps text with their `Rss` and `Anonymous` sizes in bytes, parsed
    /// over its bytes a line at a time, without making a string of any field: smaps has some
    /// twenty lines per mapping, and a quiet agent reads it when it first gives its pages back,
    /// so the parse is what a quiet minute pays for it.
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
        return Mapping(
            start: UInt(start), end: UInt(end),
            readOnlyPrivate: perms.count == 4 && !perms.contains(UInt8(ascii: "w")) && perms[3] == UInt8(ascii: "p"),
            device: String(decoding: UnsafeBufferPointer(rebasing: line[fields[3]]), as: UTF8.self), inode: inode)
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
    static func executableIdentity() -> (device: String, inode: UInt64)? {
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
        return (hex(major) + ":" + hex(minor), UInt64(status.st_ino))
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
