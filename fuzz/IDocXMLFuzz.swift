import EventModel
#if canImport(Glibc)
import Glibc
#endif
@testable import IDocXML

/// What one way of decoding made of an input: the documents (control record, root, bytes)
/// and the refusal, if any.
private struct Decoded: Equatable {
    var documents: [[UInt8]] = []
    var controls: [ControlRecord?] = []
    var roots: [String?] = []
    var rejection: DocumentRejection?
}

/// How the scanner is given the input: in place (an input in memory), or streamed from a file
/// descriptor through a buffer of `buffer` bytes (every file a source hands over), which makes
/// the scanner refill, move and re-base its buffer across the input.
private enum Way {
    case inPlace
    case streamed(buffer: Int)
    case libxml2
}

private func decode(_ bytes: [UInt8], _ way: Way) -> Decoded {
    var codec = IDocXMLCodec()
    var input = DocumentInput.bytes(bytes)
    var descriptor: Int32 = -1
    defer { if descriptor >= 0 { close(descriptor) } }
    switch way {
    case .inPlace:
        codec.plainScannerBuffer = 64
    case .streamed(let buffer):
        codec.plainScannerBuffer = buffer
        codec.scansInPlace = false
        var template = Array("/dev/shm/outpost-fuzz-XXXXXX".utf8CString)
        descriptor = mkstemp(&template)
        precondition(descriptor >= 0, "mkstemp failed")
        unlink(template)  // the descriptor keeps the file; nothing is left behind
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        precondition(written == bytes.count, "could not write the input to its file")
        precondition(lseek(descriptor, 0, SEEK_SET) == 0, "could not rewind the file")
        input = .fileDescriptor(descriptor)
    case .libxml2:
        codec.scansPlainXML = false
    }
    var decoded = Decoded()
    do {
        try codec.decode(input, limits: CodecLimits(maxDepth: 64, maxDocumentBytes: 1 << 20)) { record in
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

/// libFuzzer entry: any bytes through the IDoc XML codec three ways: the plain XML scanner in
/// place, the scanner streaming the input from a file descriptor through a small buffer (its
/// size taken from the input's length, 16 to 79 bytes, so that cuts fall everywhere), and
/// libxml2 alone. A rejection is a normal answer; a crash, a sanitizer report, a hang, or any
/// two ways disagreeing (the scanner accepting what libxml2 refuses, or reading other
/// documents) is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDocXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parsed = decode(bytes, .libxml2)
    let scanned = decode(bytes, .inPlace)
    precondition(scanned == parsed, "the plain XML scanner (in place) and libxml2 disagree: \(scanned) against \(parsed)")
    let streamed = decode(bytes, .streamed(buffer: 16 + size % 64))
    precondition(streamed == parsed, "the plain XML scanner (streamed) and libxml2 disagree: \(streamed) against \(parsed)")
    return 0
}
