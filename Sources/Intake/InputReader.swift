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
