import EventModel
import Foundation
import TestSupport
import IDocFlat
import Testing

@Suite("IDoc flat codec")
struct IDocFlatCodecTests {
    private func control(docnum: String, mestyp: String = "ORDERS") -> FlatFixture.Control {
        var control = FlatFixture.Control()
        control.docnum = docnum
        control.mestyp = mestyp
        return control
    }

    private func sampleFile() -> (text: String, idocs: [[String]]) {
        let idocs = [
            [FlatFixture.controlRecord(control(docnum: "0000000000000001")),
             FlatFixture.dataRecord(segment: "E2EDK01005", docnum: "0000000000000001", number: 1, sdata: "EUR"),
             FlatFixture.dataRecord(segment: "E2EDP01008", docnum: "0000000000000001", number: 2, sdata: "000010")],
            [FlatFixture.controlRecord(control(docnum: "0000000000000002", mestyp: "ORDCHG"))],
            [FlatFixture.controlRecord(control(docnum: "0000000000000003")),
             FlatFixture.dataRecord(segment: "E2EDK01005", docnum: "0000000000000003", number: 1, sdata: "USD")],
        ]
        return (idocs.flatMap { $0 }.map { $0 + "\n" }.joined(), idocs)
    }

    @Test("several IDocs per file: one record each, lines as given, control fields at their offsets")
    func severalIDocs() throws {
        let (text, idocs) = sampleFile()
        let outcome = FlatDecoding.decode(text)
        #expect(outcome.rejection == nil)
        try #require(outcome.documents.count == 3)
        #expect(outcome.documents.map(\.ordinal) == [0, 1, 2])
        #expect(outcome.documents.map { $0.control?.docnum } == ["0000000000000001", "0000000000000002", "0000000000000003"])
        #expect(outcome.documents.map { $0.control?.mestyp } == ["ORDERS", "ORDCHG", "ORDERS"])
        for (document, lines) in zip(outcome.documents, idocs) {
            #expect(document.lines == lines)
            #expect(document.contentType == "text/plain")
            #expect(document.rootName == nil)
            #expect(document.control == ControlRecord(
                mandt: "100", docnum: document.control?.docnum ?? "", idoctyp: "ORDERS05", cimtyp: "",
                mestyp: document.control?.mestyp ?? "", sndprn: "SNDCLNT100", rcvprn: "RCVPARTNER",
                credat: "20261126", cretim: "101500"))
        }
    }

    @Test("CRLF line ends give the same records as LF")
    func crlf() {
        let (text, _) = sampleFile()
        let lf = FlatDecoding.decode(text)
        let crlf = FlatDecoding.decode(text.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(crlf.rejection == nil)
        #expect(crlf.documents.map(\.data) == lf.documents.map(\.data))
        #expect(crlf.documents.count == 3)
        #expect(!crlf.documents.contains { $0.data.contains(0x0D) })
    }

    @Test("right-trimmed records are read; missing trailing fields are blank")
    func rightTrimmed() throws {
        var fields = control(docnum: "0000000000000042")
        fields.serial = ""
        let trimmedControl = FlatFixture.controlRecord(fields, trimmed: true)
        #expect(trimmedControl.count == 392, "the fixture ends right after CRETIM")
        let shortControl = String(trimmedControl.prefix(120))
        let text = trimmedControl + "\n" + FlatFixture.dataRecord(segment: "E2EDK01005", docnum: "0000000000000042", number: 1, sdata: "EUR", trimmed: true)
            + "\n" + shortControl + "\n"
        let outcome = FlatDecoding.decode(text)
        #expect(outcome.rejection == nil)
        try #require(outcome.documents.count == 2)
        #expect(outcome.documents[0].control?.cretim == "101500")
        #expect(outcome.documents[0].control?.credat == "20261126")
        #expect(outcome.documents[0].lines[1].hasSuffix("EUR"), "records stay as given, not padded")
        let short = outcome.documents[1].control
        #expect(short?.mestyp == "ORDERS")
        #expect(short?.sndprn == "")
        #expect(short?.credat == "")
    }

    @Test("a blank DOCNUM is kept blank")
    func blankDocnum() throws {
        let document = try #require(FlatDecoding.decode(FlatFixture.controlRecord(control(docnum: ""))).documents.first)
        #expect(document.control?.docnum == "")
        #expect(document.control?.idoctyp == "ORDERS05")
    }

    @Test("multi-byte characters before a field do not shift it: offsets count characters")
    func multiByteCharacters() throws {
        var fields = control(docnum: "0000000000000077")
        fields.sndlad = "Müller & Söhne GmbH – Zürich 東京"
        let record = FlatFixture.controlRecord(fields)
        #expect(record.utf8.count > record.unicodeScalars.count)
        let data = FlatFixture.dataRecord(segment: "E2EDKA1003", docnum: "0000000000000077", number: 1, sdata: "AG  Café Zoë 0001005022")
        let document = try #require(FlatDecoding.decode(record + "\n" + data + "\n").documents.first)
        #expect(document.control?.rcvprn == "RCVPARTNER")
        #expect(document.control?.credat == "20261126")
        #expect(document.control?.cretim == "101500")
        #expect(document.lines == [record, data])
    }

    @Test("lines that are not UTF-8 are read as ISO-8859-1 and come out as UTF-8")
    func latin1Fallback() throws {
        var fields = control(docnum: "0000000000000078")
        fields.sndlad = "Caf_ Z_rich"
        var bytes = Array(FlatFixture.controlRecord(fields).utf8) + [0x0A]
            + Array(FlatFixture.dataRecord(segment: "E2EDKA1003", docnum: "0000000000000078", number: 1, sdata: "Caf_").utf8)
        for index in bytes.indices where bytes[index] == UInt8(ascii: "_") && bytes[index - 1] != UInt8(ascii: "I") {
            bytes[index] = 0xE9
        }
        let outcome = FlatDecoding.decode(.bytes(bytes))
        let document = try #require(outcome.documents.first, "\(String(describing: outcome.rejection))")
        #expect(document.control?.credat == "20261126")
        #expect(document.control?.rcvprn == "RCVPARTNER")
        #expect(document.text.contains("Café Zérich"))
        #expect(document.lines[1].contains("Café"))
    }

    static let junkInputs: [(String, [UInt8])] = {
        let control: String = FlatFixture.controlRecord(FlatFixture.Control())
        let emptyData: String = FlatFixture.dataRecord(segment: "E2EDK01005", number: 1, sdata: "")
        let dataFirst: String = "E2EDK01005" + String(repeating: " ", count: 40) + "\n" + control
        var binary: [UInt8] = [UInt8](repeating: 0, count: 16)
        binary += (0...255).map { UInt8($0) }
        return [
            ("binary", binary),
            ("NUL in a record", Array(control.utf8) + [0x0A, 0x45, 0x00, 0x41]),
            ("data before control", Array(dataFirst.utf8)),
            ("overlong control", Array((control + "X").utf8)),
            ("overlong data", Array((control + "\n" + emptyData + "X").utf8)),
            ("endless line", Array(("EDI_DC40" + String(repeating: "A", count: 100_000)).utf8)),
            ("text", Array("<ORDERS05><IDOC/></ORDERS05>\n".utf8)),
        ]
    }()

    @Test("junk is refused as malformed_flat", arguments: junkInputs)
    func junk(_ name: String, _ bytes: [UInt8]) {
        let outcome = FlatDecoding.decode(.bytes(bytes))
        #expect(outcome.rejection?.code == .malformedFlat, "\(name): \(String(describing: outcome.rejection))")
    }

    @Test("an input without any IDoc is refused as no_documents")
    func noDocuments() {
        #expect(FlatDecoding.decode("").rejection?.code == .noDocuments)
        #expect(FlatDecoding.decode("\n   \n\r\n").rejection?.code == .noDocuments)
    }

    @Test("an IDoc larger than max_document_size is refused")
    func documentTooLarge() {
        let records = [FlatFixture.controlRecord(FlatFixture.Control())]
            + (1...20).map { FlatFixture.dataRecord(segment: "E2EDP01008", number: $0, sdata: String(repeating: "9", count: 900)) }
        let outcome = FlatDecoding.decode(records.joined(separator: "\n"), limits: CodecLimits(maxDepth: 64, maxDocumentBytes: 8192))
        #expect(outcome.rejection?.code == .documentTooLarge)
    }

    @Test("20,000 IDocs streamed through a pipe are all counted, records crossing read chunks intact")
    func streamingThroughPipe() throws {
        let count = 20_000
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        // Records are built once and only their DOCNUM (characters 13..<29 of both) varies.
        let control = FlatFixture.controlRecord(FlatFixture.Control(), trimmed: true)
        let data = FlatFixture.dataRecord(segment: "E2EDK01005", number: 1, sdata: "Zoë – Straße")
        @Sendable func record(_ template: String, docnum: String) -> String {
            String(template.unicodeScalars.prefix(13)) + docnum + String(template.unicodeScalars.dropFirst(29)) + "\r\n"
        }
        let expectedSize = control.utf8.count + 1 + data.utf8.count
        let writer = Thread {
            var batch: [UInt8] = []
            for index in 0..<count {
                let docnum = String(format: "%016d", index)
                batch += Array((record(control, docnum: docnum) + record(data, docnum: docnum)).utf8)
                if batch.count > 1 << 20 { writeAll(batch, to: writeEnd); batch.removeAll(keepingCapacity: true) }
            }
            writeAll(batch, to: writeEnd)
            close(writeEnd)
        }
        writer.start()
        var seen = 0
        var intact = true
        var rejection: DocumentRejection?
        do {
            try IDocFlatCodec().decode(.fileDescriptor(readEnd), limits: .default) { record in
                intact = intact && record.control?.docnum == String(format: "%016d", seen) && record.data.count == expectedSize
                seen += 1
            }
        } catch let error as DocumentRejection {
            rejection = error
        }
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while read(readEnd, &scratch, scratch.count) > 0 {}
        close(readEnd)
        #expect(rejection == nil)
        #expect(seen == count)
        #expect(intact)
    }

    @Test("invoic02-flat.txt: one INVOIC02 IDoc with extension, fields as SAP wrote them")
    func publicSample() throws {
        let path = PublicSamples.path("invoic02-flat.txt")
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0, "cannot open \(path): the tests need the shared public samples")
        defer { close(fd) }
        let outcome = FlatDecoding.decode(.fileDescriptor(fd))
        #expect(outcome.rejection == nil)
        try #require(outcome.documents.count == 1)
        let document = outcome.documents[0]
        #expect(document.control == ControlRecord(
            mandt: "011", docnum: "0000003073898324", idoctyp: "INVOIC02", cimtyp: "/RB04/YP3_INVOIC02_XML",
            mestyp: "INVOIC", sndprn: "SAPPOE011", rcvprn: "RBRBME", credat: "20231106", cretim: "003054"))
        #expect(document.control?.eventType == "sap.idoc.INVOIC")
        let fileText = try String(contentsOfFile: path, encoding: .utf8)
        let fileLines = fileText.components(separatedBy: "\n").filter { !$0.isEmpty }
        #expect(document.lines == fileLines)
        #expect(document.lines.count == 89)
        #expect(document.text.contains("é"))
    }

    @Test("format is idoc-flat")
    func format() {
        #expect(IDocFlatCodec().format == .idocFlat)
    }
}

private func writeAll(_ bytes: [UInt8], to fd: Int32) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}
