/// libFuzzer entry: any bytes as a hub batch body. A `BatchDecodingError` is a normal answer;
/// every decoded event's byte range must lie inside the body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatchDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    do {
        for event in try CloudEventBatchDecoder(maximumDepth: 64).decode(body) {
            precondition(event.byteRange.lowerBound >= 0 && event.byteRange.upperBound <= size, "event range outside the body")
            _ = event.validationProblem
        }
    } catch {
        precondition(error.offset >= 0 && error.offset <= size, "error offset outside the body")
    }
    return 0
}
