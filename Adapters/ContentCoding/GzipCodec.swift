internal import CZlib
import EventModel

/// `Content-Encoding: gzip` through zlib (RFC 1952). Decompression streams into a buffer that
/// never grows past the limit it is given.
public struct GzipCodec: ContentCodec {
    public let name = "gzip"
    /// zlib's level, 1 (fastest) … 9 (smallest); 6 is zlib's own default.
    public let level: Int32

    public init(level: Int32 = 6) { self.level = level }

    public func compress(_ bytes: [UInt8]) throws(ContentCodecError) -> [UInt8] {
        var stream = z_stream()
        guard cz_deflate_init_gzip(&stream, level) == Z_OK else { throw .corrupt("zlib could not start deflate") }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count))) + 32
        var out = [UInt8](repeating: 0, count: bound)
        let status: Int32 = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = uInt(output.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw .corrupt("zlib deflate ended with status \(status)") }
        out.removeSubrange(Int(stream.total_out)...)
        return out
    }

    public func decompress(_ bytes: UnsafeRawBufferPointer, limit: Int) throws(ContentCodecError) -> [UInt8] {
        var stream = z_stream()
        guard cz_inflate_init_gzip(&stream) == Z_OK else { throw .corrupt("zlib could not start inflate") }
        defer { inflateEnd(&stream) }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { throw .corrupt("empty gzip body") }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(bytes.count)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let (status, produced): (Int32, Int) = chunk.withUnsafeMutableBufferPointer { buffer in
                stream.next_out = buffer.baseAddress
                stream.avail_out = uInt(buffer.count)
                let status = inflate(&stream, Z_NO_FLUSH)
                return (status, buffer.count - Int(stream.avail_out))
            }
            if out.count + produced > limit { throw .tooLarge(limit: limit) }
            out.append(contentsOf: chunk[0..<produced])
            switch status {
            case Z_STREAM_END:
                guard stream.avail_in == 0 else { throw .corrupt("\(stream.avail_in) bytes after the end of the gzip stream") }
                return out
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                throw .corrupt("the gzip stream is truncated")
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw .corrupt(message)
            }
        }
    }
}
