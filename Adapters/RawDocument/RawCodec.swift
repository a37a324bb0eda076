import EventModel
import Foundation

/// `format: raw`: the whole input as one event (`data_base64`), no parsing.
public struct RawCodec: DocumentCodec {
    public let format = DocumentFormat.raw

    public init() {}

    public func decode(_ input: DocumentInput, limits: CodecLimits, emit: (DocumentRecord) throws -> Void) throws {
        let bytes: [UInt8]
        switch input {
        case .bytes(let b):
            bytes = b
        case .fileDescriptor(let fd):
            var all: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DocumentRejection(.unreadable, "read failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }
                all.append(contentsOf: chunk[0..<n])
                try Self.checkSize(all.count, limits)
            }
            bytes = all
        }
        try Self.checkSize(bytes.count, limits)
        try bytes.withUnsafeBytes { buffer in
            try emit(DocumentRecord(
                ordinal: 0, control: nil, contentType: "application/octet-stream", data: buffer, isText: false))
        }
    }

    private static func checkSize(_ count: Int, _ limits: CodecLimits) throws {
        if count > limits.maxDocumentBytes {
            throw DocumentRejection(.documentTooLarge, "raw document above \(limits.maxDocumentBytes) bytes")
        }
    }
}
