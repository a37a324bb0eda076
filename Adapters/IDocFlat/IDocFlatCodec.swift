import EventModel

/// Reads SAP IDoc flat files: one ``DocumentRecord`` per `EDI_DC40` control record and the
/// data records after it.
///
/// Records are lines (LF or CRLF), possibly with trailing blanks trimmed. Each record's
/// `data` is its IDoc's lines (control record first) joined with LF, as given (not padded),
/// in UTF-8, content type `text/plain`. Lines that are not valid UTF-8 are read as
/// ISO-8859-1. Blank lines are skipped. The control record's fields are read at their
/// fixed character offsets (``ControlRecordLayout``); `DOCNUM` may be blank.
///
/// Refused as `malformed_flat`: data records before the first control record, control
/// characters (NUL, binary data), a control record longer than 524 characters, a record
/// longer than 1063 characters. Streams: one IDoc in memory at a time.
public struct IDocFlatCodec: DocumentCodec {
    /// A codec; it holds no state, so one value may serve any number of inputs and threads.
    public init() {}

    /// `idoc-flat`.
    public var format: DocumentFormat { .idocFlat }

    /// The longest data record: SEGNAM 30, MANDT 3, DOCNUM 16, SEGNUM 6, PSGNUM 6, HLEVEL 2, SDATA 1000.
    static let maxDataRecordLength = 1063

    /// Decodes `input`, calling `emit` once per IDoc in file order; throws
    /// ``DocumentRejection`` when the input is refused.
    public func decode(
        _ input: DocumentInput, limits: CodecLimits, emit: (DocumentRecord) throws -> Void
    ) throws {
        var assembler = FlatIDocAssembler(limits: limits)
        var scratch: [UInt8] = []
        try FlatLineReader.forEachLine(in: input) { line, number in
            try FlatRecord.withRecord(line: line, number: number, scratch: &scratch) { record in
                try assembler.add(record, line: number, emit: emit)
            }
        }
        try assembler.finish(emit: emit)
    }
}
