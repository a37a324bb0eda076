#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CLibXML2
import EventModel

/// Hands an input to libxml2's read callback, one slice at a time, and watches it pass.
///
/// It reads a file descriptor in 64 KiB chunks (or slices a byte array), counts the bytes
/// fed so far, stops feeding when a byte budget is exhausted (so a hostile IDoc cannot grow
/// the parser's tree without bound) and, through ``PrologScanner``, refuses to feed a
/// `<!DOCTYPE` at all, so libxml2 never sees an entity declaration.
final class XMLInputFeed {
    private enum Source {
        case fileDescriptor(Int32)
        case bytes([UInt8])
    }

    private static let chunkSize = 64 << 10

    private let source: Source
    /// Read-ahead for file descriptors: `chunk[chunkStart..<chunkEnd]` is not yet fed.
    private let chunk: UnsafeMutableRawBufferPointer
    private var chunkStart = 0
    private var chunkEnd = 0
    private var prolog = PrologScanner()

    /// Bytes handed to libxml2 so far.
    private(set) var bytesFed = 0
    /// Feeding stops (libxml2 sees a read error) once `bytesFed` reaches this.
    var budget = Int.max
    /// Whether feeding stopped because of ``budget``.
    private(set) var exhaustedBudget = false
    /// Whether feeding stopped because the prolog holds a document type declaration.
    var foundDoctype: Bool { prolog.foundDoctype }
    /// The first byte of the input that is not a UTF-8 byte order mark or white space.
    var firstSignificantByte: UInt8? { prolog.firstSignificantByte }
    /// Whether the whole input was fed.
    private(set) var reachedEnd = false
    /// `errno` of a failed read(2).
    private(set) var readErrno: Int32?
    /// Sees every slice before libxml2 does (the fast path); feeding stops when it refuses one.
    var splitter: IDocSplitter?

    init(_ input: DocumentInput) {
        switch input {
        case .fileDescriptor(let fd):
            source = .fileDescriptor(fd)
            chunk = .allocate(byteCount: XMLInputFeed.chunkSize, alignment: 16)
        case .bytes(let bytes):
            source = .bytes(bytes)
            chunk = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }
    }

    deinit { chunk.deallocate() }

    /// Copies up to `capacity` bytes into `buffer`; returns the count, 0 at the end, -1 to stop.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int32 {
        guard !prolog.foundDoctype else { return -1 }
        guard bytesFed < budget else {
            exhaustedBudget = true
            return -1
        }
        let wanted = min(capacity, budget - bytesFed)
        let fed: Int
        switch source {
        case .fileDescriptor(let fd):
            if chunkStart == chunkEnd {
                guard refill(from: fd) else { return readErrno == nil ? 0 : -1 }
            }
            fed = min(wanted, chunkEnd - chunkStart)
            let slice = UnsafeRawBufferPointer(rebasing: chunk[chunkStart..<(chunkStart + fed)])
            guard prolog.admit(slice), splitter?.scan(slice) ?? true else { return -1 }
            buffer.copyMemory(from: slice.baseAddress!, byteCount: fed)
            chunkStart += fed
        case .bytes(let bytes):
            fed = min(wanted, bytes.count - bytesFed)
            guard fed > 0 else {
                reachedEnd = true
                return 0
            }
            let admitted = bytes.withUnsafeBytes { all -> Bool in
                let slice = UnsafeRawBufferPointer(rebasing: all[bytesFed..<(bytesFed + fed)])
                guard prolog.admit(slice), splitter?.scan(slice) ?? true else { return false }
                buffer.copyMemory(from: slice.baseAddress!, byteCount: fed)
                return true
            }
            guard admitted else { return -1 }
        }
        bytesFed += fed
        return Int32(fed)
    }

    /// Calls `body` with the first bytes of the input (up to 64 KiB of a file descriptor),
    /// without feeding them. Call before the first ``read(into:capacity:)``.
    func withPrefix<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        switch source {
        case .fileDescriptor(let fd):
            if chunkStart == chunkEnd && !reachedEnd && readErrno == nil { _ = refill(from: fd) }
            return body(UnsafeRawBufferPointer(rebasing: chunk[chunkStart..<chunkEnd]))
        case .bytes(let bytes):
            return bytes.withUnsafeBytes { all in
                body(UnsafeRawBufferPointer(rebasing: all[0..<min(all.count, XMLInputFeed.chunkSize)]))
            }
        }
    }

    /// libxml2's read callback: `context` is an unretained feed.
    static let readCallback: xmlInputReadCallback = { context, buffer, length in
        guard let context, let buffer, length > 0 else { return -1 }
        return Unmanaged<XMLInputFeed>.fromOpaque(context).takeUnretainedValue()
            .read(into: UnsafeMutableRawPointer(buffer), capacity: Int(length))
    }

    /// Reads the next chunk; false at the end of the input or on a read error.
    private func refill(from fd: Int32) -> Bool {
        while true {
            let count = readDescriptor(fd, chunk.baseAddress, chunk.count)
            if count > 0 {
                chunkStart = 0
                chunkEnd = count
                return true
            }
            if count == 0 {
                reachedEnd = true
                return false
            }
            if errno != EINTR {
                readErrno = errno
                return false
            }
        }
    }
}

/// read(2), named apart from ``XMLInputFeed/read(into:capacity:)``.
private func readDescriptor(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
