import CloudEventWire
import EventModel
import Foundation

/// Events as HTTP request bodies and headers: a batch for the Outpost hub, or one event under the CloudEvents HTTP protocol binding 1.0: structured
/// content mode (the event as `application/cloudevents+json`) or binary content mode (`data` as
/// the body, `datacontenttype` as `Content-Type`, every other attribute as a `ce-` header).
enum CloudEventHTTPBinding {
    /// Headers (besides authorization and encoding) and body for `event`.
    struct Message {
        var headers: [(name: String, value: String)]
        var body: [UInt8]
    }

    /// The headers of a batch, whose body is `CloudEventBatch`'s: `application/cloudevents-batch+json`
    /// (the Outpost hub's `POST /v1/events`).
    static let batchHeaders: [(name: String, value: String)] = [("Content-Type", "application/cloudevents-batch+json")]

    /// The whole event, with `sequence`, as the body.
    static func structured(_ event: OutboundEvent) -> Message {
        var body: [UInt8] = []
        body.reserveCapacity(event.json.count + CloudEventBatch.sequencePrefixLength)
        CloudEventBatch.appendEvent(event, to: &body)
        return Message(headers: [("Content-Type", "application/cloudevents+json; charset=utf-8")], body: body)
    }

    /// `data` (text as UTF-8, `data_base64` decoded, other JSON values serialised) as the body;
    /// each other attribute, `sequence` included, as a percent-encoded `ce-` header.
    static func binary(_ event: OutboundEvent) throws -> Message {
        var json: [UInt8] = []
        CloudEventBatch.appendEvent(event, to: &json)
        guard let object = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw CloudEventHTTPBindingError("event \(event.id) is not a JSON object")
        }
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
        var contentType = object["datacontenttype"] as? String
        if let base64 = object["data_base64"] as? String {
            guard let bytes = Data(base64Encoded: base64) else {
                throw CloudEventHTTPBindingError("event \(event.id) has data_base64 that is not base64")
            }
            body = Array(bytes)
        } else if let text = object["data"] as? String {
            body = Array(text.utf8)
        } else if let value = object["data"], !(value is NSNull) {
            body = Array(try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
            if contentType == nil { contentType = "application/json" }
        }
        if let contentType { headers.append(("Content-Type", contentType)) }
        for name in object.keys.sorted() where !["data", "data_base64", "datacontenttype"].contains(name) {
            guard let value = headerValue(object[name]) else { continue }
            headers.append(("ce-" + name, percentEncoded(value)))
        }
        return Message(headers: headers, body: body)
    }

    /// An attribute's canonical string form; nil for values no attribute can have (objects, null).
    private static func headerValue(_ value: Any?) -> String? {
        switch value {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    /// The binding's header value encoding (section 3.1.3.2): UTF-8, with space, `"`, `%` and
    /// every byte outside printable ASCII (U+0021 – U+007E) as `%XX`.
    static func percentEncoded(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            if (0x21...0x7E).contains(byte), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "%") {
                out.append(byte)
            } else {
                out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// An event the binary content mode cannot express.
struct CloudEventHTTPBindingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
