import EventModel

/// Where the fields Outpost keeps sit in a flat `EDI_DC40` record.
///
/// The record is SAP's `EDI_DC40` structure written as fixed-width text, 524 characters:
/// TABNAM 10, MANDT 3, DOCNUM 16, DOCREL 4, STATUS 2, DIRECT 1, OUTMOD 1, EXPRSS 1, TEST 1,
/// IDOCTYP 30, CIMTYP 30, MESTYP 30, MESCOD 3, MESFCT 3, STD 1, STDVRS 6, STDMES 6, SNDPOR 10,
/// SNDPRT 2, SNDPFC 2, SNDPRN 10, SNDSAD 21, SNDLAD 70, RCVPOR 10, RCVPRT 2, RCVPFC 2,
/// RCVPRN 10, RCVSAD 21, RCVLAD 70, CREDAT 8, CRETIM 6, REFINT 14, REFGRP 14, REFMES 14,
/// ARCKEY 70, SERIAL 20. Offsets count characters, not bytes.
enum ControlRecordLayout {
    /// Length of a complete control record; writers may trim trailing blanks.
    static let recordLength = 524

    private struct Field: Sendable {
        let offset: Int
        let width: Int
        let target: WritableKeyPath<ControlRecord, String> & Sendable
    }

    private static let kept: [Field] = [
        Field(offset: 10, width: 3, target: \.mandt),
        Field(offset: 13, width: 16, target: \.docnum),
        Field(offset: 39, width: 30, target: \.idoctyp),
        Field(offset: 69, width: 30, target: \.cimtyp),
        Field(offset: 99, width: 30, target: \.mestyp),
        Field(offset: 162, width: 10, target: \.sndprn),
        Field(offset: 277, width: 10, target: \.rcvprn),
        Field(offset: 378, width: 8, target: \.credat),
        Field(offset: 386, width: 6, target: \.cretim),
    ]

    /// The kept fields of a control record; fields past a trimmed record's end are blank.
    static func controlRecord(from record: FlatRecord) -> ControlRecord {
        var control = ControlRecord()
        for field in kept {
            control[keyPath: field.target] = record.field(at: field.offset, width: field.width)
        }
        return control
    }
}
