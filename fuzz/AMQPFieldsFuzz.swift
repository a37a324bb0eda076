import Foundation

/// libFuzzer entry: any bytes as a stored event read for an AMQP message. Either the reader
/// refuses them, or every member reads back in bounds; where Foundation's JSON parser also
/// reads the bytes as an object with unique names and no escaped surrogates, every string
/// member must have the value Foundation gives it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAMQPFields(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let fields = CloudEventFields(json: bytes) else { return 0 }
    var names = Set<String>()
    for i in 0..<fields.count {
        names.insert(fields.name(at: i))
        let value = fields.bytes(at: i)
        precondition(fields.isString(at: i) == (fields.string(at: i) != nil), "string(at:) disagrees with isString(at:)")
        if !fields.isString(at: i) { precondition(!value.isEmpty, "a raw member with no text") }
    }
    let text = String(decoding: bytes, as: UTF8.self)
    guard names.count == fields.count, !text.lowercased().contains("\\ud"),
          let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
          object.count == fields.count
    else { return 0 }
    for i in 0..<fields.count {
        if let expected = object[fields.name(at: i)] as? String {
            precondition(fields.string(at: i) == expected, "string member \(fields.name(at: i)) differs from Foundation's")
        }
    }
    return 0
}
