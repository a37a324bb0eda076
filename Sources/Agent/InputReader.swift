import Crypto
import EventModel
import Foundation

/// Blocking reads of a ``DocumentInput`` (run off the cooperative pool).
enum InputReader {
    /// Up to `count` bytes from the start, without moving the offset.
    static func prefix(_ input: DocumentInput, count: Int) throws -> [UInt8] {
        switch input {
        case .bytes(let bytes):
            return Array(bytes.prefix(count))
        case .fileDescriptor(let fd):
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, 0) }
            guard n >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            return Array(buffer.prefix(n))
        }
    }

    /// A short printable excerpt for error messages.
    static func excerpt(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(16).map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
        return "\"\(shown)\""
    }
}

/// SHA-256 of a whole input, read in large chunks on a thread of its own (``OwnThread``).
enum InputHasher {
    static func sha256(of input: DocumentInput) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            OwnThread.run("outpost.hash") {
                continuation.resume(with: Result { try hash(input) })
            }
        }
    }

    static func hash(_ input: DocumentInput) throws -> String {
        var hasher = SHA256()
        switch input {
        case .bytes(let bytes):
            hasher.update(data: bytes)
        case .fileDescriptor(let fd):
            let chunk = 1 << 20
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
            defer { buffer.deallocate() }
            var offset: off_t = 0
            while true {
                let n = pread(fd, buffer.baseAddress, chunk, offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError(.init(rawValue: errno) ?? .EIO)
                }
                if n == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                offset += off_t(n)
            }
        }
        return hasher.finalize().map { byte in
            let s = String(byte, radix: 16)
            return byte < 16 ? "0" + s : s
        }.joined()
    }
}
