/// Decodes a CloudEvents JSON batch (`application/cloudevents-batch+json`: a JSON array of
/// event objects) in one validating pass over the body bytes.
///
/// It extracts only the attributes the hub indexes and checks, plus the exact byte range of
/// each event object so the event can be stored as received. Anything that is not strict JSON
/// (truncation, bad escapes, invalid UTF-8, nesting beyond `maximumDepth`, trailing bytes)
/// throws a `BatchDecodingError` naming the problem and its offset; per-event attribute
/// problems do not throw, they are reported by `DecodedCloudEvent.validationProblem`.
public struct CloudEventBatchDecoder: Sendable {
    /// Deepest container nesting accepted; the batch array is level 1, an event level 2,
    /// its `data` object level 3 (the least accepted).
    public let maximumDepth: Int

    public init(maximumDepth: Int = 64) {
        self.maximumDepth = max(3, maximumDepth)
    }

    /// Decodes `body`; byte ranges in the result are offsets into `body`.
    public func decode(_ body: UnsafeRawBufferPointer) throws(BatchDecodingError) -> [DecodedCloudEvent] {
        var scanner = JSONByteScanner(bytes: body, maximumDepth: maximumDepth)
        try scanner.expect(.openBracket, "'[' (a batch is a JSON array of events)")
        var events: [DecodedCloudEvent] = []
        scanner.skipWhitespace()
        if scanner.peek == .closeBracket {
            scanner.index += 1
        } else {
            repeat {
                scanner.skipWhitespace()
                guard scanner.peek == .openBrace else {
                    throw scanner.failure(
                        scanner.peek.map { "event \(events.count) is not a JSON object (found \(JSONByteScanner.describe($0)))" }
                            ?? "unexpected end of input, expected an event object")
                }
                events.append(try decodeEvent(index: events.count, scanner: &scanner))
            } while try scanner.continueContainer(closer: .closeBracket, what: "']'")
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.failure("unexpected content after the batch array") }
        return events
    }

    /// Decodes `body`; byte ranges in the result are offsets into `body`.
    public func decode(_ body: [UInt8]) throws(BatchDecodingError) -> [DecodedCloudEvent] {
        let result = body.withUnsafeBytes { bytes in
            Result { () throws(BatchDecodingError) in try decode(bytes) }
        }
        return try result.get()
    }

    /// The attributes the hub reads, by JSON member name.
    private enum Attribute: CaseIterable {
        case specversion, id, source, type, subject, time, datacontenttype, sequence, agentid, region

        var name: StaticString {
            switch self {
            case .specversion: "specversion"
            case .id: "id"
            case .source: "source"
            case .type: "type"
            case .subject: "subject"
            case .time: "time"
            case .datacontenttype: "datacontenttype"
            case .sequence: "sequence"
            case .agentid: "agentid"
            case .region: "region"
            }
        }

        var keyPath: WritableKeyPath<DecodedCloudEvent, String?> {
            switch self {
            case .specversion: \.specversion
            case .id: \.id
            case .source: \.source
            case .type: \.type
            case .subject: \.subject
            case .time: \.time
            case .datacontenttype: \.datacontenttype
            case .sequence: \.sequence
            case .agentid: \.agentid
            case .region: \.region
            }
        }
    }

    private func decodeEvent(index: Int, scanner: inout JSONByteScanner) throws(BatchDecodingError) -> DecodedCloudEvent {
        let start = scanner.index
        var event = DecodedCloudEvent(index: index, byteRange: start..<start)
        scanner.index += 1
        scanner.skipWhitespace()
        if scanner.peek == .closeBrace {
            scanner.index += 1
        } else {
            repeat {
                let key = try scanner.scanMemberName()
                if let attribute = attribute(named: key, in: scanner) {
                    try decodeAttribute(attribute, into: &event, scanner: &scanner)
                } else if scanner.content(key, equals: "data") || scanner.content(key, equals: "data_base64") {
                    if event.data != nil { event.attributeProblems.append("data is given more than once") }
                    try decodeData(base64: !scanner.content(key, equals: "data"), into: &event, scanner: &scanner)
                } else {
                    try scanner.skipValue(depth: 2)
                }
            } while try scanner.continueContainer(closer: .closeBrace, what: "'}'")
        }
        event.byteRange = start..<scanner.index
        return event
    }

    private func attribute(named key: JSONByteScanner.StringToken, in scanner: JSONByteScanner) -> Attribute? {
        if key.hasEscapes {
            let name = scanner.decode(key)
            return Attribute.allCases.first { $0.name.description == name }
        }
        return Attribute.allCases.first { scanner.content(key, equals: $0.name) }
    }

    private func decodeAttribute(
        _ attribute: Attribute, into event: inout DecodedCloudEvent, scanner: inout JSONByteScanner
    ) throws(BatchDecodingError) {
        if try scanner.skipNull() { return }  // CloudEvents: a null attribute is an absent one
        guard scanner.peek == .quote else {
            event.attributeProblems.append("attribute \(attribute.name) must be a string")
            try scanner.skipValue(depth: 2)
            return
        }
        let value = scanner.decode(try scanner.scanString())
        if event[keyPath: attribute.keyPath] != nil {
            event.attributeProblems.append("attribute \(attribute.name) is given more than once")
        }
        event[keyPath: attribute.keyPath] = value
    }

    /// Records where the `data` / `data_base64` value lies; a `data` object's string members
    /// `reason`, `detail` and `filename` are read on the way.
    private func decodeData(base64: Bool, into event: inout DecodedCloudEvent, scanner: inout JSONByteScanner) throws(BatchDecodingError) {
        let peek = scanner.peekAfterWhitespace()
        let start = scanner.index
        if peek == .quote {
            let token = try scanner.scanString()
            event.data = .string(content: token.content, hasEscapes: token.hasEscapes, base64: base64)
        } else if peek == .openBrace, !base64 {
            try decodeDataObject(into: &event, scanner: &scanner)
            event.data = .json(start..<scanner.index)
        } else {
            try scanner.skipValue(depth: 2)
            event.data = .json(start..<scanner.index)
        }
    }

    /// Reads the string members `reason`, `detail` and `filename` of a `data` object.
    private func decodeDataObject(into event: inout DecodedCloudEvent, scanner: inout JSONByteScanner) throws(BatchDecodingError) {
        scanner.skipWhitespace()
        scanner.index += 1
        scanner.skipWhitespace()
        if scanner.peek == .closeBrace {
            scanner.index += 1
            return
        }
        repeat {
            let key = try scanner.scanMemberName()
            scanner.skipWhitespace()
            let target: WritableKeyPath<DecodedCloudEvent, String?>? =
                scanner.content(key, equals: "reason") ? \.dataReason
                : scanner.content(key, equals: "detail") ? \.dataDetail
                : scanner.content(key, equals: "filename") ? \.dataFilename
                : nil
            if let target, scanner.peek == .quote {
                event[keyPath: target] = scanner.decode(try scanner.scanString())
            } else {
                try scanner.skipValue(depth: 3)
            }
        } while try scanner.continueContainer(closer: .closeBrace, what: "'}'")
    }
}
