import AMQPClient
import CloudEventWire
import EventModel
import Foundation

/// Maps a stored event onto an AMQP message (CloudEvents AMQP binding, adapted to 0-9-1
/// headers). In both modes the message is persistent and its `message_id` is the event id,
/// which is what a consumer de-duplicates on; `type` is the event type, `app_id` `outpost`.
enum CloudEventMessage {
    static let headerPrefix = "cloudEvents:"
    static let structuredContentType = "application/cloudevents+json; charset=utf-8"

    /// Why an event cannot be published (it is dead-lettered with this reason).
    struct Unpublishable: Error {
        let reason: String
    }

    static func make(
        _ event: OutboundEvent, exchange: String, routingKey: RoutingKeyTemplate, mode: CloudEventContentMode
    ) throws(Unpublishable) -> AMQPOutgoingMessage {
        guard let fields = CloudEventFields(json: event.json) else {
            throw Unpublishable(reason: "the stored event is not a JSON object")
        }
        let sequence = sequenceText(event.sequence)
        let key = routingKey.render { name in name == "sequence" ? sequence : fields.string(name) }
        guard key.utf8.count <= 255 else {
            throw Unpublishable(reason: "routing key '\(key.prefix(60))…' is longer than AMQP's 255 bytes; shorten hub.routing_key")
        }
        var properties = AMQPProperties()
        properties.persistent = true
        properties.messageID = event.id
        properties.type = fields.string("type")
        properties.appID = "outpost"
        properties.timestamp = UInt64(max(0, Date().timeIntervalSince1970))
        let body: [UInt8]
        switch mode {
        case .structured:
            properties.contentType = structuredContentType
            var out = [UInt8]()
            out.reserveCapacity(event.json.count + CloudEventBatch.sequencePrefixLength)
            CloudEventBatch.appendEvent(event, to: &out)
            body = out
        case .binary:
            var headers = AMQPHeaders()
            headers.reserveCapacity(fields.count + 1)
            headers.appendNew(headerPrefix + "sequence", .string(sequence))
            var data: [UInt8] = []
            for i in 0..<fields.count {
                let name = fields.name(at: i)
                let value = fields.bytes(at: i)
                switch name {
                case "data":
                    data = value
                case "data_base64" where fields.isString(at: i):
                    guard let decoded = Data(base64Encoded: Data(value)) else {
                        throw Unpublishable(reason: "data_base64 of the stored event is not base64")
                    }
                    data = Array(decoded)
                case "datacontenttype" where fields.isString(at: i):
                    properties.contentType = String(decoding: value, as: UTF8.self)
                case "sequence":
                    headers[headerPrefix + name] = .string(String(decoding: value, as: UTF8.self))
                default:
                    // The stored object's names are unique: no search.
                    headers.appendNew(headerPrefix + name, .string(String(decoding: value, as: UTF8.self)))
                }
            }
            properties.headers = headers
            body = data
        }
        return AMQPOutgoingMessage(exchange: exchange, routingKey: key, properties: properties, body: body)
    }

    /// The `sequence` attribute: 20 digits, zero-padded (as in the HTTP batch body).
    static func sequenceText(_ sequence: Int64) -> String {
        let digits = String(max(0, sequence))
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}
