import EventModel
import IDocXML

/// libFuzzer entry: any bytes through the IDoc XML codec. A rejection is a normal answer;
/// a crash, a sanitizer report or a hang is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDocXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var documents = 0
    do {
        try IDocXMLCodec().decode(.bytes(bytes), limits: CodecLimits(maxDepth: 64, maxDocumentBytes: 1 << 20)) { record in
            precondition(!record.data.isEmpty, "an emitted IDoc has no data")
            documents += 1
        }
    } catch is DocumentRejection {
    } catch {
        fatalError("the codec threw something other than DocumentRejection: \(error)")
    }
    return 0
}
