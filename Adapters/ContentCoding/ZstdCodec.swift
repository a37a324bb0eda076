internal import CZstd
import EventModel

/// `Content-Encoding: zstd` through libzstd (RFC 8878). Decompression streams into a buffer that
/// never grows past the limit it is given, and refuses frames whose window is above 8 MiB, so
/// the decoder's own memory stays small whatever the frame header claims.
public struct ZstdCodec: ContentCodec {
    public let name = "zstd"
    /// zstd's level, 1 … 19; 3 is zstd's own default.
    public let level: Int32

    public init(level: Int32 = 3) { self.level = level }

    public func compress(_ bytes: [UInt8]) throws(ContentCodecError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let written = bytes.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                ZSTD_compress(output.baseAddress, output.count, input.baseAddress, input.count, level)
            }
        }
        guard ZSTD_isError(written) == 0 else { throw .corrupt(String(cString: ZSTD_getErrorName(written))) }
        out.removeSubrange(written...)
        return out
    }

    public func decompress(_ bytes: UnsafeRawBufferPointer, limit: Int) throws(ContentCodecError) -> [UInt8] {
        guard let context = ZSTD_createDCtx() else { throw .corrupt("zstd could not start") }
        defer { ZSTD_freeDCtx(context) }
        ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 23)
        guard !bytes.isEmpty else { throw .corrupt("empty zstd body") }
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var pending = 1
        while input.pos < input.size || pending != 0 {
            let (result, produced): (Int, Int) = chunk.withUnsafeMutableBytes { buffer in
                var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                let result = ZSTD_decompressStream(context, &output, &input)
                return (result, output.pos)
            }
            if ZSTD_isError(result) != 0 { throw .corrupt(String(cString: ZSTD_getErrorName(result))) }
            if out.count + produced > limit { throw .tooLarge(limit: limit) }
            out.append(contentsOf: chunk[0..<produced])
            pending = result
            if input.pos == input.size, pending != 0, produced == 0 { throw .corrupt("the zstd stream is truncated") }
        }
        return out
    }
}
