import Foundation
import Testing
@testable import EventModel

@Suite struct ControlRecordTests {
    @Test func eventTypeFromMessageType() {
        var c = ControlRecord()
        c.set(field: "MESTYP", to: "ORDERS")
        #expect(c.eventType == "sap.idoc.ORDERS")
        c.set(field: "MESTYP", to: "/LUMBERL/3PL_ORDERS ")
        #expect(c.eventType == "sap.idoc.LUMBERL.3PL_ORDERS")
        c.set(field: "MESTYP", to: "  ")
        c.set(field: "IDOCTYP", to: "INVOIC02")
        #expect(c.eventType == "sap.idoc.INVOIC02")
    }

    @Test func identityPrefersBusinessIdentity() {
        let c = ControlRecord(mandt: "100", docnum: "0000000064132944", sndprn: "PRDCLNT100")
        #expect(EventIdentity.id(control: c, fileSHA256: "ab", ordinal: 3) == "idoc:PRDCLNT100:100:0000000064132944")
        let blank = ControlRecord(mandt: "100", docnum: "", sndprn: "X")
        #expect(EventIdentity.id(control: blank, fileSHA256: "ab", ordinal: 3) == "doc:ab:3")
        #expect(EventIdentity.id(control: nil, fileSHA256: "cd", ordinal: 0) == "doc:cd:0")
    }
}

@Suite struct FormatDetectionTests {
    @Test func detectsXMLAndFlat() {
        #expect(DocumentFormat.detect(prefix: Array("\u{FEFF}<?xml version=\"1.0\"?><A/>".utf8)) == .idocXML)
        #expect(DocumentFormat.detect(prefix: Array("\r\n  <ORDERS05>".utf8)) == .idocXML)
        #expect(DocumentFormat.detect(prefix: Array("EDI_DC40  100".utf8)) == .idocFlat)
        #expect(DocumentFormat.detect(prefix: Array("%PDF-1.4".utf8)) == nil)
        #expect(DocumentFormat.detect(prefix: [UInt8]()) == nil)
    }
}

@Suite struct JSONWriterTests {
    @Test func escapesControlCharactersQuotesAndBackslashes() {
        var w = JSONWriter()
        w.string("a\"b\\c\nd\te\u{01}é")
        #expect(String(decoding: w.bytes, as: UTF8.self) == "\"a\\\"b\\\\c\\nd\\te\\u0001é\"")
    }

    @Test("every ASCII byte, alone and between plain runs, decodes back to itself")
    func everyByteRoundTrips() throws {
        var text = "plain start é 東京 "
        for scalar in 0..<0x80 { text += "<\(Character(Unicode.Scalar(UInt8(scalar))))>" }
        text += "\r\n\t\"\\ plain end"
        for sample in [text, "\n", "\u{1F}", "no escapes at all", "", String(repeating: "\u{01}\"", count: 100)] {
            var w = JSONWriter()
            w.raw("[")
            w.string(sample)
            w.raw("]")
            let decoded = try #require(try JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String])
            #expect(decoded == [sample])
        }
    }

    @Test("escaping agrees with one byte at a time, for every byte value, run length and buffer state")
    func escapingAgreesWithTheBytewiseReference() {
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            for byte in bytes {
                switch byte {
                case 0x22: out += Array("\\\"".utf8)
                case 0x5C: out += Array("\\\\".utf8)
                case 0x0A: out += Array("\\n".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0x09: out += Array("\\t".utf8)
                case 0..<0x20: out += Array(String(format: "\\u%04x", Int(byte)).utf8)
                default: out.append(byte)
                }
            }
            return out
        }
        var state: UInt64 = 0x2024_1207
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        // Mostly plain text with escapes now and then, as in an IDoc; sometimes dense.
        let plain = Array("ABCDEFGHIJ0123456789 <>/=abcdefé".utf8)
        for round in 0..<2_000 {
            let length = next(round % 10 == 0 ? 2_000 : 70)
            let density = [2, 8, 40, 1_000][next(4)]
            let input: [UInt8] = (0..<length).map { _ in
                guard next(density) == 0 else { return plain[next(plain.count)] }
                return [0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x00, 0x01, 0x1F, 0x7F, 0x80, 0xFF][next(11)]
            }
            let prefix = Array(repeating: UInt8(ascii: "p"), count: next(20))
            var out = prefix
            if next(2) == 0 { out.reserveCapacity(prefix.count + next(4 * length + 1)) }
            input.withUnsafeBytes { JSONWriter.appendEscaped($0, to: &out) }
            let expected = prefix + reference(input)
            #expect(out == expected, "round \(round): \(input)")
            if out != expected { return }
        }
        // Every byte value alone and each in a 16-byte block.
        for value in 0...255 {
            for input in [[UInt8(value)], Array(repeating: UInt8(ascii: "x"), count: 7) + [UInt8(value)] + Array(repeating: UInt8(ascii: "y"), count: 8)] {
                var out: [UInt8] = []
                input.withUnsafeBytes { JSONWriter.appendEscaped($0, to: &out) }
                #expect(out == reference(input), "byte \(value)")
            }
        }
    }

    @Test("exactBytes: the bytes written, in an array about their size, the writer's buffer kept")
    func exactBytesFitTheirContent() {
        var w = JSONWriter(capacity: 8192)
        for text in ["", "short", String(repeating: "x\"y", count: 1000)] {
            w.reset()
            w.string(text)
            let copy = w.exactBytes
            #expect(copy == w.bytes)
            #expect(copy.capacity < copy.count + 64, "\(copy.capacity) bytes of room for \(copy.count)")
            #expect(w.bytes.capacity >= 8192)
        }
    }
}

@Suite struct RFC3339Tests {
    @Test func formatsAndParses() {
        #expect(RFC3339.format(0) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(1_795_688_100) == "2026-11-26T10:15:00Z")
        #expect(RFC3339.parse("2026-11-26T10:15:00Z") == 1_795_688_100)
        #expect(RFC3339.parse("2026-11-26T11:15:00+01:00") == 1_795_688_100)
        #expect(RFC3339.parse("2026-11-26 10:15") == nil)
        #expect(RFC3339.parse("garbage") == nil)
    }
}

@Suite struct CloudEventEncoderTests {
    @Test("a document's traceparent: the input's hash as trace id, its ordinal + 1 as span id")
    func derivedTraceparent() throws {
        for (sha, traceID) in [
            (String(repeating: "ab", count: 32), String(repeating: "ab", count: 16)),
            ("12f", "12f" + String(repeating: "0", count: 29)),
            ("", String(repeating: "0", count: 31) + "1"),
        ] {
            let origin = DocumentOrigin(agentID: "a", region: "r", sourceName: "s", fileName: "f.xml", fileSHA256: sha, pickupTime: 0)
            var encoder = CloudEventEncoder(origin: origin)
            for ordinal in [0, 1, 14, 15, 255, 1 << 32, Int(Int32.max)] {
                let span = String(UInt64(ordinal) + 1, radix: 16)
                let expected = "00-\(traceID)-\(String(repeating: "0", count: 16 - span.count) + span)-01"
                #expect(Traceparent.derived(fileSHA256: sha, ordinal: ordinal) == expected)
                let event = [UInt8]("<x/>".utf8).withUnsafeBytes {
                    encoder.encode(DocumentRecord(ordinal: ordinal, control: nil, rootName: nil, contentType: "application/xml", data: $0))
                }
                let object = try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
                #expect(object["traceparent"] as? String == expected)
            }
        }
        var given = DocumentOrigin(agentID: "a", region: "r", sourceName: "s", fileName: "f.xml", fileSHA256: "ab", pickupTime: 0)
        given.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        var encoder = CloudEventEncoder(origin: given)
        let event = [UInt8]("<x/>".utf8).withUnsafeBytes {
            encoder.encode(DocumentRecord(ordinal: 3, control: nil, rootName: nil, contentType: "application/xml", data: $0))
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
        #expect(object["traceparent"] as? String == given.traceparent)
    }

    @Test("the attributes an input's documents share are escaped once and are the same in each; ordinals in decimal")
    func sharedAttributes() throws {
        let origin = DocumentOrigin(
            agentID: "plant \"1\"", region: "em\\ea", sourceName: "drop\tbox", fileName: "o\n\"x\".xml",
            fileSHA256: String(repeating: "b", count: 64), pickupTime: 1_795_688_100.5)
        var encoder = CloudEventEncoder(origin: origin)
        let data = Array("<ORDERS05/>".utf8)
        for ordinal in [0, 7, 10, 99, 1_234_567, Int(Int32.max) + 1] {
            let event = data.withUnsafeBytes {
                encoder.encode(DocumentRecord(ordinal: ordinal, control: nil, contentType: "application/xml", data: $0))
            }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
            // Each event holds about its own size, not the encoder's whole buffer (8 KiB).
            #expect(event.json.capacity < event.json.count + 64, "\(event.json.capacity) bytes for \(event.json.count)")
            #expect(object["agentid"] as? String == "plant \"1\"")
            #expect(object["region"] as? String == "em\\ea")
            #expect(object["source"] as? String == origin.eventSource)
            #expect(object["filename"] as? String == "o\n\"x\".xml")
            #expect(object["filesha256"] as? String == origin.fileSHA256)
            #expect(object["time"] as? String == "2026-11-26T10:15:00Z")
            #expect(object["ordinal"] as? String == String(ordinal))
            #expect(object["subject"] as? String == String(ordinal))
        }
    }

    @Test func encodesOneIDocAsCloudEvent() throws {
        let origin = DocumentOrigin(agentID: "plant-1", region: "emea", sourceName: "drop",
                                    fileName: "o.xml", fileSHA256: String(repeating: "a", count: 64),
                                    pickupTime: 1_795_688_100)
        var enc = CloudEventEncoder(origin: origin)
        let control = ControlRecord(mandt: "100", docnum: "42", idoctyp: "ORDERS05", mestyp: "ORDERS",
                                    sndprn: "SND", rcvprn: "RCV", credat: "20261126", cretim: "101500")
        let data = Array("<ORDERS05><IDOC BEGIN=\"1\">\"x\"</IDOC></ORDERS05>".utf8)
        let event = data.withUnsafeBytes { buf in
            enc.encode(DocumentRecord(ordinal: 0, control: control, rootName: "ORDERS05",
                                      contentType: "application/xml", data: buf))
        }
        #expect(event.id == "idoc:SND:100:42")
        #expect(event.type == "sap.idoc.ORDERS")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
        #expect(obj["specversion"] as? String == "1.0")
        #expect(obj["source"] as? String == "outpost://plant-1/drop")
        #expect(obj["time"] as? String == "2026-11-26T10:15:00Z")
        #expect(obj["data"] as? String == String(decoding: data, as: UTF8.self))
        #expect(obj["credat"] as? String == "20261126T101500")
        #expect(obj["agentid"] as? String == "plant-1")
        #expect(obj["region"] as? String == "emea")
        #expect(obj["filename"] as? String == "o.xml")
        #expect(obj["filesha256"] as? String == String(repeating: "a", count: 64))
        #expect(obj["ordinal"] as? String == "0")
        #expect(obj["sequence"] == nil)
        for key in obj.keys { #expect(key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }) }
    }
}

@Suite("Hex")
struct HexTests {
    @Test("digests read as lowercase hex, two digits per byte, from any sequence of bytes")
    func lowercaseDigits() {
        let bytes: [UInt8] = [0x00, 0x01, 0x09, 0x0a, 0x0f, 0x10, 0x7f, 0x80, 0xa5, 0xf0, 0xff]
        let expected = "0001090a0f107f80a5f0ff"
        #expect(Hex.encode(bytes) == expected)
        #expect(bytes.withUnsafeBytes { Hex.encode($0) } == expected)
        // A sequence without contiguous storage.
        #expect(Hex.encode(bytes.lazy.map { $0 }) == expected)
        #expect(Hex.encode([UInt8]()) == "")
        // Every byte value: what the old per-byte table gave.
        let all = (0...255).map { UInt8($0) }
        #expect(Hex.encode(all) == all.map { String(format: "%02x", $0) }.joined())
    }
}
