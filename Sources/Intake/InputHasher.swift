import Crypto
import EventModel
import Foundation

/// SHA-256 of a whole input, read in large chunks on a thread of its own (``DedicatedQueue``).
enum InputHasher {
    static func sha256(of input: DocumentInput) async throws -> String {
        if DedicatedQueue.isSmallEnoughInPlace(input) { return try hash(input) }
        return try await withCheckedThrowingContinuation { continuation in
            DedicatedQueue.run("outpost.hash") {
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
        return hasher.finalize().withUnsafeBytes { Hex.encode($0) }
    }
}
