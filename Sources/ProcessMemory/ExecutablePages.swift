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
        return releasable(in: parse(smaps), executable: executable).map { $0.start..<$0.end }
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

    /// The mappings of an smaps text with their `Rss` and `Anonymous` sizes in bytes.
    static func parse(_ text: Substring) -> [Mapping] {
        var mappings: [Mapping] = []
        for line in text.split(separator: "\n") {
            if let (name, kib) = sizeField(line) {
                guard !mappings.isEmpty else { continue }
                if name == "Rss" { mappings[mappings.count - 1].resident = kib * 1024 }
                if name == "Anonymous" { mappings[mappings.count - 1].anonymous = kib * 1024 }
                continue
            }
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5 else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                  let inode = UInt64(fields[4])
            else { continue }
            let perms = fields[1]
            mappings.append(Mapping(
                start: start, end: end,
                readOnlyPrivate: perms.count == 4 && !perms.contains("w") && perms.hasSuffix("p"),
                device: String(fields[3]), inode: inode))
        }
        return mappings
    }

    /// `Name:   123 kB` → ("Name", 123).
    private static func sizeField(_ line: Substring) -> (Substring, Int)? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let value = line[line.index(after: colon)...].split(separator: " ")
        guard value.count == 2, value[1] == "kB", let kib = Int(value[0]) else { return nil }
        return (line[..<colon], kib)
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
    static func readFile(_ path: String) -> Substring? {
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
        return String(decoding: bytes, as: UTF8.self)[...]
    }
    #endif
}
