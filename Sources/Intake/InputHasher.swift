import Crypto
import EventModel
import Foundation

/// SHA-256 of a whole input, read in large chunks on a thread of its own (``DedicatedQueue``).
enum InputHasher {
    /// An input in memory up to this size is hashed on the caller's thread, at once: the hop
    /// to the hashing thread and back costs more than hashing it (an AMQP message, a small SFTP
    /// file: microseconds).
    static let inlineBytes = 64 << 10

    static func sha256(of input: DocumentInput) async throws -> String {
        if case .bytes(let bytes) = input, bytes.count <= inlineBytes { return try hash(input) }
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
        return hex(hasher.finalize())
    }

    /// Lowercase hexadecimal, two digits per byte, built in one string.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
