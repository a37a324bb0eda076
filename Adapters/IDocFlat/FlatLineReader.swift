#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventModel

/// Splits an input into lines (LF or CRLF), reading a file descriptor in 64 KiB chunks.
///
/// Memory stays bounded: a line is carried across chunks only up to ``maxLineBytes``;
/// a longer one is refused before it is read any further.
struct FlatLineReader {
    /// Room for the longest record (1063 characters of up to 4 bytes each) and its CR.
    static let maxLineBytes = 1063 * 4 + 1
    private static let chunkSize = 64 << 10

    /// Calls `body` with each line (without its LF, CR kept) and its 1-based number.
    static func forEachLine(
        in input: DocumentInput, _ body: (UnsafeRawBufferPointer, Int) throws -> Void
    ) throws {
        var splitter = LineSplitter()
        switch input {
        case .bytes(let bytes):
            try bytes.withUnsafeBytes { try splitter.feed($0, body) }
        case .fileDescriptor(let fd):
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
            defer { chunk.deallocate() }
            while true {
                let count = readDescriptor(fd, chunk.baseAddress, chunk.count)
                if count == 0 { break }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw DocumentRejection(.unreadable, "reading the input failed (errno \(errno))")
                }
                try splitter.feed(UnsafeRawBufferPointer(rebasing: chunk[0..<count]), body)
            }
        }
        try splitter.finish(body)
    }

    /// The line-splitting state carried from one chunk to the next.
    private struct LineSplitter {
        private var carry: [UInt8] = []
        private var lineNumber = 0

        mutating func feed(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
            var start = 0
            while start < bytes.count {
                guard let newline = firstNewline(in: bytes, from: start) else {
                    try keep(UnsafeRawBufferPointer(rebasing: bytes[start...]))
                    return
                }
                lineNumber += 1
                let line = UnsafeRawBufferPointer(rebasing: bytes[start..<newline])
                if carry.isEmpty {
                    try body(line, lineNumber)
                } else {
                    try keep(line)
                    try carry.withUnsafeBytes { try body($0, lineNumber) }
                    carry.removeAll(keepingCapacity: true)
                }
                start = newline + 1
            }
        }

        mutating func finish(_ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
            guard !carry.isEmpty else { return }
            lineNumber += 1
            try carry.withUnsafeBytes { try body($0, lineNumber) }
            carry.removeAll()
        }

        private mutating func keep(_ bytes: UnsafeRawBufferPointer) throws {
            guard carry.count + bytes.count <= FlatLineReader.maxLineBytes else {
                throw DocumentRejection(
                    .malformedFlat,
                    "line \(lineNumber + 1) is longer than \(FlatLineReader.maxLineBytes) bytes; IDoc records are at most 1063 characters")
            }
            carry.append(contentsOf: bytes)
        }

        private func firstNewline(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
            guard let base = bytes.baseAddress,
                  let found = memchr(base + start, 0x0A, bytes.count - start)
            else { return nil }
            return UnsafeRawPointer(found) - base
        }
    }
}

/// read(2).
private func readDescriptor(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
