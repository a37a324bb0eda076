import EventModel

/// Gathers the records of one IDoc at a time and emits it when the next one starts.
struct FlatIDocAssembler {
    private let limits: CodecLimits
    private var document: [UInt8] = []
    private var control: ControlRecord?
    private var firstLine = 0
    private var ordinal = 0

    init(limits: CodecLimits) {
        self.limits = limits
        document.reserveCapacity(64 << 10)
    }

    mutating func add(_ record: FlatRecord, line: Int, emit: (DocumentRecord) throws -> Void) throws {
        if record.isBlank { return }
        if record.isControlRecord {
            guard record.characterCount <= ControlRecordLayout.recordLength else {
                throw DocumentRejection(
                    .malformedFlat,
                    "line \(line): the EDI_DC40 control record has \(record.characterCount) characters; it has at most \(ControlRecordLayout.recordLength)")
            }
            try flush(emit: emit)
            control = ControlRecordLayout.controlRecord(from: record)
            firstLine = line
        } else {
            guard control != nil else {
                throw DocumentRejection(
                    .malformedFlat,
                    "line \(line) is a data record before any EDI_DC40 control record; a flat IDoc file starts with one")
            }
            guard record.characterCount <= IDocFlatCodec.maxDataRecordLength else {
                throw DocumentRejection(
                    .malformedFlat,
                    "line \(line): the data record has \(record.characterCount) characters; it has at most \(IDocFlatCodec.maxDataRecordLength)")
            }
            document.append(0x0A)
        }
        document.append(contentsOf: record.bytes)
        guard document.count <= limits.maxDocumentBytes else {
            throw DocumentRejection(
                .documentTooLarge,
                "IDoc \(ordinal + 1) (from line \(firstLine)) is larger than \(limits.maxDocumentBytes) bytes; the limit is codec max_document_size")
        }
    }

    /// Emits the last IDoc; refuses an input that held none.
    mutating func finish(emit: (DocumentRecord) throws -> Void) throws {
        try flush(emit: emit)
        guard ordinal > 0 else {
            throw DocumentRejection(.noDocuments, "the input holds no EDI_DC40 control record, so no IDoc")
        }
    }

    private mutating func flush(emit: (DocumentRecord) throws -> Void) throws {
        guard let control else { return }
        try document.withUnsafeBytes { data in
            try emit(DocumentRecord(ordinal: ordinal, control: control, contentType: "text/plain", data: data))
        }
        ordinal += 1
        document.removeAll(keepingCapacity: true)
        self.control = nil
    }
}
