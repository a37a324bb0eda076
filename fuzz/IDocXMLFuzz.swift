import EventModel
@testable import IDocXML

/// What one way of decoding made of an input: the documents (control record, root, bytes)
/// and the refusal, if any.
private struct Decoded: Equatable {
    var documents: [[UInt8]] = []
    var controls: [ControlRecord?] = []
    var roots: [String?] = []
    var rejection: DocumentRejection?
}

private func decode(_ bytes: [UInt8], scansPlainXML: Bool) -> Decoded {
    var codec = IDocXMLCodec()
    codec.scansPlainXML = scansPlainXML
    codec.plainScannerBuffer = 64
    var decoded = Decoded()
    do {
        try codec.decode(.bytes(bytes), limits: CodecLimits(maxDepth: 64, maxDocumentBytes: 1 << 20)) { record in
            precondition(!record.data.isEmpty, "an emitted IDoc has no data")
            decoded.documents.append(Array(record.data))
            decoded.controls.append(record.control)
            decoded.roots.append(record.rootName)
        }
    } catch let rejection as DocumentRejection {
        decoded.rejection = rejection
    } catch {
        fatalError("the codec threw something other than DocumentRejection: \(error)")
    }
    return decoded
}

/// libFuzzer entry: any bytes through the IDoc XML codec, once with the plain XML scanner
/// and once with libxml2 alone. A rejection is a normal answer; a crash, a sanitizer report,
/// a hang, or the two ways disagreeing (the scanner accepting what libxml2 refuses, or
/// reading other documents) is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDocXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let scanned = decode(bytes, scansPlainXML: true)
    let parsed = decode(bytes, scansPlainXML: false)
    precondition(scanned == parsed, "the plain XML scanner and libxml2 disagree: \(scanned) against \(parsed)")
    return 0
}
