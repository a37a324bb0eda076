import AMQPClient
@testable import AMQPSink
import AMQPSource
import EventModel
import Foundation
import Testing

@Suite struct EndpointTests {
    @Test func parsesURLAndPrefersTheCredentialsFile() throws {
        let plain = try AMQPEndpoint(url: "amqp://erp:secret@127.0.0.1:5673/plant%2Fone")
        #expect(plain.host == "127.0.0.1" && plain.port == 5673 && plain.virtualHost == "plant/one")
        #expect(plain.user == "erp" && plain.password == "secret" && !plain.useTLS)
        #expect(!plain.description.contains("secret"))
        let tls = try AMQPEndpoint(url: "amqps://broker.example.net/%2f", credentials: .init(user: "u", password: "p"))
        #expect(tls.port == 5671 && tls.virtualHost == "/" && tls.useTLS && tls.user == "u")
        #expect(try AMQPEndpoint(url: "amqp://127.0.0.1").virtualHost == "/")
        #expect(throws: AMQPError.self) { try AMQPEndpoint(url: "http://127.0.0.1/") }
    }

    @Test func credentialsFileNeedsUserColonPassword() throws {
        let path = NSTemporaryDirectory() + "cred-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "outpost:pa:ss\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try AMQPCredentials.read(file: path) == AMQPCredentials(user: "outpost", password: "pa:ss"))
        try "no-colon\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: AMQPError.self) { try AMQPCredentials.read(file: path) }
        #expect(error?.message.contains("user:password") == true)
    }
}

@Suite struct MessageMappingTests {
    static func delivery(_ properties: AMQPProperties, tag: UInt64 = 7) -> AMQPDelivery {
        AMQPDelivery(
            deliveryTag: tag, redelivered: false, exchange: "erp", routingKey: "orders.emea", properties: properties,
            body: Array("x".utf8))
    }

    @Test func carriesPropertiesAndScalarHeaders() {
        var p = AMQPProperties()
        p.messageID = "M-1"
        p.correlationID = "C-9"
        p.timestamp = 1_795_688_100
        p.headers = [
            "Plant-Code": .string("DE01"), "retry": .int(3), "x-death": .array([]), "blob": .bytes([1]),
            "traceparent": .string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            "nested": .table(["a": .string("b")]),
        ]
        let attributes = MessageMapping.attributes(Self.delivery(p))
        #expect(attributes == [
            "amqpmessageid": "M-1", "amqpcorrelationid": "C-9", "amqptimestamp": "2026-11-26T10:15:00Z",
            "amqproutingkey": "orders.emea", "amqphplantcode": "DE01", "amqphretry": "3",
        ])
        #expect(MessageMapping.traceparent(p) == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        let document = MessageMapping.document(Self.delivery(p), sourceName: "q", format: nil)
        #expect(document.fileName == "M-1" && document.size == 1)
    }

    @Test func fallsBackToTheDeliveryTagAndRefusesBadTraceContexts() {
        var p = AMQPProperties()
        p.headers = ["traceparent": .string("00-00000000000000000000000000000000-b7ad6b7169203331-01")]
        #expect(MessageMapping.fileName(Self.delivery(p, tag: 42)) == "amqp-42")
        #expect(MessageMapping.traceparent(p) == nil)
        p.headers = ["traceparent": .string("not-a-trace")]
        #expect(MessageMapping.traceparent(p) == nil)
        #expect(MessageMapping.headerAttribute("--") == nil)
        #expect(MessageMapping.headerAttribute("X-Custom") == nil)
    }

    @Test func encoderWritesAllowedAttributesOnly() throws {
        let origin = DocumentOrigin(
            agentID: "a", region: "r", sourceName: "s", fileName: "f", fileSHA256: "ab", pickupTime: 0,
            attributes: ["amqpmessageid": "M\"1", "id": "spoof", "Bad-Name": "x"])
        var encoder = CloudEventEncoder(origin: origin)
        let bytes = Array("raw".utf8)
        let event = bytes.withUnsafeBytes {
            encoder.encode(DocumentRecord(ordinal: 0, control: nil, contentType: "text/plain", data: $0))
        }
        let object = try JSONSerialization.jsonObject(with: Data(event.json)) as! [String: Any]
        #expect(object["amqpmessageid"] as? String == "M\"1")
        #expect(object["id"] as? String == "doc:ab:0")
        #expect(object["Bad-Name"] == nil)
    }
}

@Suite struct CloudEventMessageTests {
    static let json = Array(
        (#"{"specversion":"1.0","id":"idoc:S:100:1","source":"outpost://a/s","type":"sap.idoc.ORDERS","#
            + #""datacontenttype":"application/xml","data":"<A x=\"1\">\u00e9\n</A>","partitionkey":"k","#
            + #""agentid":"a","region":"emea"}"#).utf8)

    @Test func routingKeyTemplateRendersAttributes() throws {
        let template = try RoutingKeyTemplate("{type}.{region}.x")
        let fields = try #require(CloudEventFields(json: Self.json))
        #expect(template.render(fields.string) == "sap.idoc.ORDERS.emea.x")
        #expect(throws: RoutingKeyTemplateError.self) { try RoutingKeyTemplate("{type") }
        #expect(throws: RoutingKeyTemplateError.self) { try RoutingKeyTemplate("{Type}") }
        #expect(throws: RoutingKeyTemplateError.self) { try RoutingKeyTemplate("a}") }
    }

    @Test func binaryModePutsDataInTheBodyAndAttributesInHeaders() throws {
        let event = OutboundEvent(sequence: 42, id: "idoc:S:100:1", partitionKey: "k", json: Self.json)
        let message = try CloudEventMessage.make(
            event, exchange: "hub", routingKey: try RoutingKeyTemplate("{type}.{region}"), mode: .binary)
        #expect(String(decoding: message.body, as: UTF8.self) == "<A x=\"1\">é\n</A>")
        #expect(message.routingKey == "sap.idoc.ORDERS.emea")
        #expect(message.properties.contentType == "application/xml")
        #expect(message.properties.messageID == "idoc:S:100:1" && message.properties.persistent)
        #expect(message.properties.headers["cloudEvents:id"] == .string("idoc:S:100:1"))
        #expect(message.properties.headers["cloudEvents:sequence"] == .string("00000000000000000042"))
        #expect(message.properties.headers["cloudEvents:specversion"] == .string("1.0"))
        #expect(message.properties.headers["cloudEvents:data"] == nil)
        #expect(message.properties.headers.keys == [
            "cloudEvents:sequence", "cloudEvents:specversion", "cloudEvents:id", "cloudEvents:source", "cloudEvents:type",
            "cloudEvents:partitionkey", "cloudEvents:agentid", "cloudEvents:region",
        ])
    }

    @Test func structuredModeSendsTheWholeEvent() throws {
        let event = OutboundEvent(sequence: 7, id: "idoc:S:100:1", partitionKey: "k", json: Self.json)
        let message = try CloudEventMessage.make(
            event, exchange: "hub", routingKey: try RoutingKeyTemplate("{type}"), mode: .structured)
        let object = try JSONSerialization.jsonObject(with: Data(message.body)) as! [String: Any]
        #expect(object["sequence"] as? String == "00000000000000000007")
        #expect(object["data"] as? String == "<A x=\"1\">é\n</A>")
        #expect(message.properties.contentType?.hasPrefix("application/cloudevents+json") == true)
        #expect(message.properties.headers.isEmpty)
    }

    @Test func objectDataAndBase64AreUnwrapped() throws {
        let json = Array(#"{"id":"r","type":"outpost.document.rejected","data":{"reason":"x","size":3},"region":"e"}"#.utf8)
        let event = OutboundEvent(sequence: 1, id: "r", partitionKey: "k", json: json)
        let message = try CloudEventMessage.make(event, exchange: "h", routingKey: try RoutingKeyTemplate("{type}"), mode: .binary)
        #expect(String(decoding: message.body, as: UTF8.self) == #"{"reason":"x","size":3}"#)
        let binary = Array(#"{"id":"b","type":"t","data_base64":"AAEC"}"#.utf8)
        let raw = try CloudEventMessage.make(
            OutboundEvent(sequence: 1, id: "b", partitionKey: "k", json: binary), exchange: "h",
            routingKey: try RoutingKeyTemplate("{type}"), mode: .binary)
        #expect(raw.body == [0, 1, 2])
    }
}

@Suite struct CloudEventFieldsTests {
    /// Strings with every kind of escape, and non-string members holding braces, brackets
    /// and escaped quotes inside their own strings.
    static let json = Array(
        (#"{"id":"x\"y\\z\/","type":"t\n\r\t\b\f","name\u00e9":"caf\u00e9 \ud83d\ude00","#
            + #""data":{"a":["}",{"b":"\"]"}],"n":-1.5e3},"flag":true,"none":null,"count":42,"#
            + #""text":"<IDOC BEGIN=\"1\">\u0041</IDOC>"}"#).utf8)

    @Test("every member agrees with JSONSerialization: names, string values, raw values re-parsed")
    func agreesWithFoundation() throws {
        let fields = try #require(CloudEventFields(json: Self.json))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(Self.json)) as? [String: Any])
        #expect(fields.count == object.count)
        for i in 0..<fields.count {
            let name = fields.name(at: i)
            let expected = try #require(object[name], "member \(name)")
            if let text = expected as? String {
                #expect(fields.isString(at: i))
                #expect(fields.string(at: i) == text)
                #expect(fields.string(name) == text)
                #expect(fields.bytes(at: i) == Array(text.utf8))
            } else {
                #expect(!fields.isString(at: i) && fields.string(at: i) == nil)
                let raw = Data(fields.bytes(at: i))
                let reparsed = try JSONSerialization.jsonObject(with: raw, options: .fragmentsAllowed)
                #expect(NSDictionary(dictionary: ["v": reparsed]) == NSDictionary(dictionary: ["v": expected]), "member \(name)")
            }
        }
        #expect(fields.string("absent") == nil)
    }

    @Test("not the stored shape: nil, never a partial reading")
    func refusesMalformedObjects() {
        for text in [
            #""#, #"[]"#, #"{"a":"b""#, #"{"a":"b\"}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a":"\u12G4"}"#,
            #"{"a" "b"}"#, #"{"a":}"#, #"{"a":"b",}"#, #"{"a":{"b":1}"#, #"{a:"b"}"#,
        ] {
            #expect(CloudEventFields(json: Array(text.utf8)) == nil, "\(text)")
        }
        #expect(CloudEventFields(json: Array("{}".utf8))?.count == 0)
        #expect(CloudEventFields(json: Array(#" { "a" : "b" } "#.utf8))?.string("a") == "b")
    }
}

@Suite struct AMQPHeadersTests {
    @Test("names keep the order they were set in; setting one again replaces it in place; nil removes it")
    func orderAndReplacement() {
        var headers: AMQPHeaders = ["b": .int(1), "a": .string("x")]
        headers["c"] = .bool(true)
        headers["b"] = .int(2)
        #expect(headers.keys == ["b", "a", "c"])
        #expect(headers["b"] == .int(2) && headers["z"] == nil)
        headers["a"] = nil
        #expect(headers.keys == ["b", "c"] && headers.count == 2)
        headers.appendNew("d", .void)
        #expect(headers.keys == ["b", "c", "d"])
    }

    @Test("equal when they hold the same names and values, whatever the order")
    func equality() {
        let one: AMQPHeaders = ["a": .int(1), "b": .string("x")]
        let two: AMQPHeaders = ["b": .string("x"), "a": .int(1)]
        #expect(one == two)
        #expect(one != ["a": .int(1)])
        #expect(one != ["a": .int(1), "b": .string("y")])
        #expect(one != ["a": .int(1), "c": .string("x")])
        #expect(AMQPHeaders() == [:] && AMQPHeaders().isEmpty)
    }
}
