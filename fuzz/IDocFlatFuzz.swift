import EventModel
import IDocFlat

/// libFuzzer entry: any bytes through the flat IDoc codec.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDocFlat(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try IDocFlatCodec().decode(.bytes(bytes), limits: CodecLimits(maxDepth: 64, maxDocumentBytes: 1 << 20)) { record in
            precondition(!record.data.isEmpty, "an emitted IDoc has no data")
        }
    } catch is DocumentRejection {
    } catch {
        fatalError("the codec threw something other than DocumentRejection: \(error)")
    }
    return 0
}
