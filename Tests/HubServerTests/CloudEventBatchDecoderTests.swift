import HubServer
import Testing

@Suite struct CloudEventBatchDecoderTests {
    let decoder = CloudEventBatchDecoder()

    func decode(_ text: String) throws(BatchDecodingError) -> [DecodedCloudEvent] {
        try decoder.decode(Array(text.utf8))
    }

    func decodingError(_ bytes: [UInt8]) -> BatchDecodingError? {
        do {
            _ = try decoder.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    func decodingError(_ text: String) -> BatchDecodingError? { decodingError(Array(text.utf8)) }

    @Test func extractsAttributesAndExactByteRanges() throws {
        let first = #"{"specversion":"1.0","id":"idoc:PRD:100:0000000064132944","source":"outpost://plant-emea-01/sap","type":"sap.idoc.ORDERS","subject":"0000000064132944","time":"2026-11-26T10:15:00Z","datacontenttype":"application/xml","data":"<ORDERS05 a=\"1\"/>","sequence":"00000000000000000042","agentid":"plant-emea-01","region":"emea","extra":[1,{"x":null}]}"#
        let second = #"{ "id" : "b", "type":"t", "source":"s", "specversion":"1.0", "agentid":"a", "region":"r", "count": -1.5e3 }"#
        let body = "  [\n" + first + " ,\n\t" + second + "\n]\n"
        let bytes = Array(body.utf8)
        let events = try decoder.decode(bytes)

        #expect(events.count == 2)
        let event = events[0]
        #expect(event.id == "idoc:PRD:100:0000000064132944")
        #expect(event.type == "sap.idoc.ORDERS")
        #expect(event.source == "outpost://plant-emea-01/sap")
        #expect(event.specversion == "1.0")
        #expect(event.subject == "0000000064132944")
        #expect(event.time == "2026-11-26T10:15:00Z")
        #expect(event.datacontenttype == "application/xml")
        #expect(event.sequence == "00000000000000000042")
        #expect(event.agentid == "plant-emea-01")
        #expect(event.region == "emea")
        #expect(event.validationProblem == nil)
        #expect(String(decoding: bytes[event.byteRange], as: UTF8.self) == first)
        #expect(String(decoding: bytes[events[1].byteRange], as: UTF8.self) == second)
        #expect(events[1].index == 1)
        #expect(events[1].validationProblem == nil)
    }

    @Test func emptyBatchIsValid() throws {
        #expect(try decode(" [ ] ").isEmpty)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let body = #"[{"id":"q\"b\\s\/\b\f\n\r\t","subject":"caf\u00e9 \ud83d\ude00 é","\u0069d2":"x","s\u006furce":"escaped-key"}]"#
        let event = try #require(try decode(body).first)
        #expect(event.id == "q\"b\\s/\u{08}\u{0C}\n\r\t")
        #expect(event.subject == "café 😀 é")
        #expect(event.source == "escaped-key")
    }

    @Test func extractsRejectedDocumentData() throws {
        let body = #"[{"type":"outpost.document.rejected","data":{"size":12,"reason":"malformed_xml","nested":{"reason":"not this"},"detail":"line 3","filename":"bad\u0020file.xml"}}]"#
        let event = try #require(try decode(body).first)
        #expect(event.dataReason == "malformed_xml")
        #expect(event.dataDetail == "line 3")
        #expect(event.dataFilename == "bad file.xml")
    }

    @Test func reportsAttributeProblemsPerEvent() throws {
        let events = try decode(#"""
            [{"specversion":"1.0","id":7,"source":"s","type":"t"},
             {"specversion":"1.0","id":"a","id":"b","source":"s","type":"t"},
             {"specversion":"1.0","id":"a","source":"s","type":"t","subject":null},
             {"specversion":"0.3","id":"a","source":"s","type":"t"},
             {"specversion":"1.0","id":"","source":"s","type":"t"},
             {"specversion":"1.0","id":"a","type":"t"},
             {"specversion":"1.0","id":"a","source":"s"}]
            """#)
        #expect(events.map(\.validationProblem) == [
            "attribute id must be a string",
            "attribute id is given more than once",
            nil,
            "specversion is \"0.3\"; only \"1.0\" is supported",
            "id is missing or empty",
            "source is missing or empty",
            "type is missing or empty",
        ])
        #expect(events[2].subject == nil)
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("{}", "expected '['"),
        ("[1]", "event 0 is not a JSON object"),
        ("[{}", "unexpected end of input"),
        ("[{},]", "event 1 is not a JSON object"),
        ("[{}] x", "unexpected content after the batch array"),
        (#"[{"id":"abc}]"#, "unterminated string"),
        (#"[{"id":"a\x"}]"#, "invalid escape sequence \\x"),
        (#"[{"id":"\u12"}]"#, "\\u escape needs four hex digits"),
        (#"[{"id":"\ud83d"}]"#, "high surrogate"),
        (#"[{"id":"\ude00"}]"#, "unpaired low surrogate"),
        ("[{\"id\":\"a\nb\"}]", "unescaped control character"),
        (#"[{"n":01}]"#, "expected ',' or '}'"),
        (#"[{"n":-}]"#, "invalid number"),
        (#"[{"n":1.}]"#, "digits must follow '.'"),
        (#"[{"n":1e+}]"#, "digits must follow the exponent"),
        (#"[{"n":tru}]"#, "invalid literal"),
        (#"[{"a":[1,]}]"#, "expected a value but found ']'"),
        (#"[{"a":{"b":1,}}]"#, "expected a member name but found '}'"),
        (#"[{"a" 1}]"#, "expected ':'"),
        (#"[{1:2}]"#, "expected a member name"),
    ])
    func rejectsMalformedJSON(body: String, expected: String) {
        let error = decodingError(body)
        #expect(error?.problem.contains(expected) == true, "\(body): \(String(describing: error))")
    }

    @Test func reportsOffsetOfTheProblem() throws {
        let error = try #require(decodingError(#"[{"id":"a"},{"id":"a\q"}]"#))
        #expect(error.offset == 20)
        #expect(error.description == "invalid escape sequence \\q in a string at byte offset 20")
    }

    @Test func rejectsInvalidUTF8() {
        for bad: [UInt8] in [[0xC0, 0xAF], [0xFF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]] {
            let body = Array(#"[{"id":""#.utf8) + bad + Array(#""}]"#.utf8)
            #expect(decodingError(body)?.problem.contains("UTF-8") == true, "\(bad)")
        }
    }

    @Test func boundsNestingWithoutRecursion() throws {
        let deep = #"[{"data":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}]"
        #expect(decodingError(deep)?.problem == "JSON nesting deeper than 64 levels")
        let deepObject = #"[{"data":"# + String(repeating: #"{"a":"#, count: 100_000)
        #expect(decodingError(deepObject)?.problem == "JSON nesting deeper than 64 levels")
        let allowed = #"[{"data":"# + String(repeating: "[", count: 62) + String(repeating: "]", count: 62) + "}]"
        #expect(try decode(allowed).count == 1)
    }

    @Test func acceptsHugeNumbersWithoutConvertingThem() throws {
        let body = #"[{"n":"# + String(repeating: "9", count: 100_000) + #".5e99999999999999999999,"m":-0}]"#
        #expect(try decode(body).count == 1)
    }

    @Test func everyTruncationOfAValidBatchIsAnErrorNotACrash() {
        let body = Array(#"[{"specversion":"1.0","id":"a\u00e9\ud83d\ude00","n":-12.5e+3,"b":true,"z":null,"d":{"reason":"x","l":[1,[2]]}}]"#.utf8)
        for length in 0..<body.count {
            #expect(decodingError(Array(body[..<length])) != nil, "prefix of \(length) bytes")
        }
    }

    @Test func randomlyCorruptedBatchesNeverCrash() throws {
        let valid = Array(#"[{"specversion":"1.0","id":"idoc:A:1","source":"s","type":"t","data":"<x a=\"1\">\u00e9</x>","n":[1.5e3,{"k":false}]},{"id":"b"}]"#.utf8)
        var generator = SplitMix64(seed: 0x5EED)
        let alphabet = Array(#"[]{}",:\u0123456789-+.eEtrufalsn "#.utf8) + [0x00, 0x80, 0xC3, 0xFF, 0xED]
        var outcomes = (decoded: 0, refused: 0)
        for _ in 0..<5000 {
            var mutated = valid
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = Int(generator.next() % UInt64(mutated.count))
                switch generator.next() % 3 {
                case 0: mutated[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                case 1: mutated.remove(at: position)
                default: mutated.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                }
            }
            if let events = try? decoder.decode(mutated) {
                outcomes.decoded += 1
                for event in events { #expect(event.byteRange.upperBound <= mutated.count) }
            } else {
                outcomes.refused += 1
            }
        }
        #expect(outcomes.refused > 0)
        #expect(outcomes.decoded > 0)
    }
}

/// A small deterministic generator so that the corruption test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
