import AMQPClient
import EventModel

/// How a queue message becomes an ``IncomingDocument``: the documented mapping of message
/// properties onto event extension attributes (README "Queue source").
///
/// | message                | event attribute                                   |
/// |------------------------|---------------------------------------------------|
/// | `message_id`           | `amqpmessageid` (and `filename`)                  |
/// | `correlation_id`       | `amqpcorrelationid`                               |
/// | `timestamp`            | `amqptimestamp` (RFC 3339)                        |
/// | `type`, `app_id`       | `amqptype`, `amqpappid`                           |
/// | routing key            | `amqproutingkey`                                  |
/// | header `traceparent`   | `traceparent` (when it is a valid W3C trace context) |
/// | header `Name-X` (scalar) | `amqphnamex`: `amqph` + the name lowercased, keeping `a-z0-9` |
///
/// Headers whose name starts with `x-` (the broker's, such as `x-death`), with table, array
/// or binary values, or with values over 1 KiB are not carried; at most 32 headers are.
public enum MessageMapping {
    static let maxHeaders = 32
    static let maxHeaderValueBytes = 1024

    /// The document for `delivery` from source `sourceName`. It leaves no receipt: a message
    /// delivered again is recognised by its events' ids (``IncomingDocument/keepsReceipt``).
    public static func document(_ delivery: AMQPDelivery, sourceName: String, format: DocumentFormat?) -> IncomingDocument {
        IncomingDocument(
            sourceName: sourceName, fileName: fileName(delivery), input: .bytes(delivery.body),
            size: Int64(delivery.body.count), format: format, traceparent: traceparent(delivery.properties),
            attributes: attributes(delivery), keepsReceipt: false)
    }

    /// The message id, or `amqp-<delivery tag>` when the message has none.
    public static func fileName(_ delivery: AMQPDelivery) -> String {
        if let id = delivery.properties.messageID, !id.isEmpty { return String(id.prefix(255)) }
        return "amqp-\(delivery.deliveryTag)"
    }

    /// The `traceparent` header when it is a well-formed version-00 W3C trace context.
    public static func traceparent(_ properties: AMQPProperties) -> String? {
        guard let value = properties.headers["traceparent"]?.scalarText else { return nil }
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        let lengths = [2, 32, 16, 2]
        guard parts.count == 4, zip(parts, lengths).allSatisfy({ $0.count == $1 && $0.allSatisfy(\.isHexDigit) }),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" })
        else { return nil }
        return value.lowercased()
    }

    /// The extension attributes for `delivery` (see the table above).
    public static func attributes(_ delivery: AMQPDelivery) -> [String: String] {
        let p = delivery.properties
        var out: [String: String] = [:]
        if let v = p.messageID, !v.isEmpty { out["amqpmessageid"] = v }
        if let v = p.correlationID, !v.isEmpty { out["amqpcorrelationid"] = v }
        if let v = p.timestamp { out["amqptimestamp"] = RFC3339.format(Double(v)) }
        if let v = p.type, !v.isEmpty { out["amqptype"] = v }
        if let v = p.appID, !v.isEmpty { out["amqpappid"] = v }
        if !delivery.routingKey.isEmpty { out["amqproutingkey"] = delivery.routingKey }
        var carried = 0
        for name in p.headers.keys.sorted() where carried < maxHeaders {
            guard let attribute = headerAttribute(name), out[attribute] == nil,
                  let value = p.headers[name]?.scalarText, value.utf8.count <= maxHeaderValueBytes
            else { continue }
            out[attribute] = value
            carried += 1
        }
        return out
    }

    /// `amqph` + the header name lowercased with everything but `a-z0-9` dropped; nil for
    /// `x-` headers, `traceparent`, and names that keep no character.
    public static func headerAttribute(_ header: String) -> String? {
        let lower = header.lowercased()
        guard !lower.hasPrefix("x-"), lower != "traceparent" else { return nil }
        let kept = String(String.UnicodeScalarView(lower.unicodeScalars.filter {
            ("a"..."z").contains($0) || ("0"..."9").contains($0)
        }))
        guard !kept.isEmpty else { return nil }
        let name = "amqph" + kept
        return ExtensionAttributes.isAllowed(name) ? name : nil
    }
}
