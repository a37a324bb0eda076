import EventModel
import Foundation
@testable import IDocXML
import TestSupport
import Testing

/// ``PlainIDocScanner`` (plain XML read without libxml2) against libxml2's SAX path: the
/// scanner must take the usual IDoc files itself, and whatever it accepts libxml2 must
/// accept with the same documents; whatever else, it must leave to libxml2, so refusals
/// stay libxml2's, word for word.
@Suite("IDoc XML codec: plain XML scanner")
struct IDocXMLPlainScannerTests {
    /// With a `buffer` size, an input in memory is copied into the scanner's buffer chunk by
    /// chunk, as a file is read, so that the buffer's size cuts it; without, it is scanned
    /// in place.
    private static func codec(scans: Bool, buffer: Int? = nil) -> IDocXMLCodec {
        var codec = IDocXMLCodec()
        codec.scansPlainXML = scans
        if let buffer {
            codec.plainScannerBuffer = buffer
            codec.scansInPlace = false
        }
        return codec
    }

    /// Plain XML with every construct the scanner reads itself: declaration with encoding and
    /// standalone, CRLF and tabs, single and double quotes, references in text and in
    /// attribute values, non-ASCII text, `]` and `>` in text, empty elements, fields with
    /// blanks around their values, non-IDoc children of the root and nested IDOC elements.
    static let plain: String = {
        let control = "<EDI_DC40 SEGMENT='1'>\r\n\t<TABNAM>EDI_DC40</TABNAM><MANDT> 100 </MANDT>"
            + "<DOCNUM>\n0000000000004711\n</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>/LUMBERL/VFI_ORDERS</MESTYP>"
            + "<SNDPRN>A&amp;B &#x41;&#66; &lt;x&gt;</SNDPRN><RCVPRN>Zoë 東京 😀</RCVPRN><CREDAT>20261126</CREDAT>"
            + "<CRETIM>101500</CRETIM><EMPTY/></EDI_DC40>"
        let first = "<IDOC BEGIN=\"1\" NOTE='a &gt; b \"q\" &#x20AC;' X-Y.Z = \"1\" >\r\n" + control
            + "<E1EDK01 SEGMENT=\"1\"><T>x ] y ]] z > w</T><N>Straße</N><E/><IDOC>nested</IDOC></E1EDK01>\r\n</IDOC>"
        let second = "<IDOC BEGIN=\"1\">" + XMLFixture.controlRecord(docnum: "4712") + "<E2 a='1' b=\"2\"/></IDOC >"
        return "<?xml version='1.0' encoding='utf-8' standalone=\"yes\" ?>\r\n\r\n<_-LUMBERL_-3PL_ORDERS05_EXT A=\"1 &amp; 2\">\r\n"
            + "<HEADER><IDOC>not at IDoc level</IDOC></HEADER>\r\n" + first + "\r\n" + second
            + "\r\n</_-LUMBERL_-3PL_ORDERS05_EXT>\r\n\t \r\n"
    }()

    private static func inputs() throws -> [(name: String, bytes: [UInt8])] {
        var inputs: [(String, [UInt8])] = [
            ("plain", Array(plain.utf8)),
            ("typical", Array(XMLFixture.file(idocs: (0..<20).map { XMLFixture.idoc(docnum: "\($0)", segments: XMLFixture.typicalSegments) }).utf8)),
            ("bom, no declaration", [0xEF, 0xBB, 0xBF] + Array(XMLFixture.file(prolog: "", idocs: [XMLFixture.idoc(docnum: "1")]).utf8)),
        ]
        for name in ["cremas05-one-line.xml", "orders05-namespaced-ext.xml", "invoic02-ext-zinv_ardo.xml"] {
            inputs.append((name, try PublicSamples.bytes(name)))
        }
        return inputs
    }

    /// Both ways, compared: same documents (control records, root names, bytes) and the same
    /// refusal, word for word.
    private static func expectSame(_ bytes: [UInt8], _ label: @autoclosure () -> String, buffer: Int? = nil) {
        let scanned = CodecHarness.decode(codec(scans: true, buffer: buffer), .bytes(bytes))
        let parsed = CodecHarness.decode(codec(scans: false), .bytes(bytes))
        #expect(scanned.rejection == parsed.rejection, "\(label())")
        #expect(scanned.documents == parsed.documents, "\(label())")
    }

    @Test("an input scanned where it is gets no read buffer of its own; a file gets the full one")
    func noBufferForAnInputInPlace() throws {
        let bytes = Array(XMLFixture.file(idocs: [XMLFixture.idoc(docnum: "1")]).utf8)
        let inPlace = PlainIDocScanner(.bytes(bytes), limits: .default)
        #expect(inPlace.ownBufferSize <= 16)
        let copied = PlainIDocScanner(.bytes(bytes), limits: .default, inPlace: false)
        #expect(copied.ownBufferSize == 256 << 10)
        let path = NSTemporaryDirectory() + "scanner-\(UUID().uuidString).xml"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var file = PlainIDocScanner(.fileDescriptor(fd), limits: .default)
        #expect(file.ownBufferSize == 256 << 10)
        var documents = 0
        #expect(try file.scan { _ in documents += 1 })
        #expect(documents == 1)
    }

    @Test("usual IDoc files are read by the scanner alone, with libxml2's results")
    func takesUsualFiles() throws {
        for (name, bytes) in try Self.inputs() {
            var scanner = PlainIDocScanner(.bytes(bytes), limits: .default)
            var documents = 0
            let finished = try scanner.scan { _ in documents += 1 }
            #expect(finished, "\(name): the scanner gave up at byte \(scanner.unsureAt ?? -1)")
            #expect(documents > 0, "\(name)")
            Self.expectSame(bytes, name)
        }
        let outcome = CodecHarness.decode(Self.codec(scans: true), .bytes(Array(Self.plain.utf8)))
        try #require(outcome.documents.count == 2)
        let control = try #require(outcome.documents[0].control)
        #expect(control.mandt == "100")
        #expect(control.docnum == "0000000000004711")
        #expect(control.sndprn == "A&B AB <x>")
        #expect(control.rcvprn == "Zoë 東京 😀")
        #expect(outcome.documents[0].rootName == "_-LUMBERL_-3PL_ORDERS05_EXT")
    }

    @Test("the eight-byte test for the end of a run of text finds the first byte that may end it, or none")
    func textStopsEightAtATime() {
        // Bytes around every boundary the test draws, and plain ones.
        let interesting: [UInt8] = [0x00, 0x01, 0x08, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x25, 0x26, 0x27, 0x3B, 0x3C,
                                    0x3D, 0x41, 0x5C, 0x5D, 0x5E, 0x7E, 0x7F, 0x80, 0x81, 0xBF, 0xC3, 0xFE, 0xFF]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200_000 {
            let bytes = (0..<8).map { _ in
                round % 3 == 0 ? UInt8.random(in: 0x20...0x7E, using: &generator) : interesting.randomElement(using: &generator)!
            }
            let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            let flags = PlainIDocScanner.possibleTextStops(word)
            let first = bytes.firstIndex { $0 < 0x20 || $0 >= 0x80 || $0 == 0x3C || $0 == 0x26 || $0 == 0x5D }
            #expect((flags == 0 ? nil : flags.trailingZeroBitCount / 8) == first, "\(bytes)")
            if flags != 0 { #expect(flags.trailingZeroBitCount % 8 == 7, "\(bytes)") }
        }
    }

    @Test("the same from a file descriptor, and with the buffer cut at every size up to 80 bytes")
    func anyBufferSize() throws {
        for (name, bytes) in try Self.inputs() where bytes.count < 200_000 {
            for buffer in [16, 17, 19, 23, 31, 40, 64, 80, 4096] {
                Self.expectSame(bytes, "\(name), buffer \(buffer)", buffer: buffer)
            }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plain-\(UUID().uuidString).xml").path
        FileManager.default.createFile(atPath: path, contents: Data(Self.plain.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let fromFile = CodecHarness.decode(Self.codec(scans: true, buffer: 16), .fileDescriptor(fd))
        let fromBytes = CodecHarness.decode(Self.codec(scans: false), .bytes(Array(Self.plain.utf8)))
        #expect(fromFile.rejection == nil)
        #expect(fromFile.documents == fromBytes.documents)
    }

    @Test("every one-byte change of a plain file, scanned in place and streamed through small buffers: the scanner never accepts what libxml2 refuses")
    func mutations() throws {
        let base = Array(Self.plain.utf8)
        let replacements: [UInt8] = [
            UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), UInt8(ascii: "\""), UInt8(ascii: "'"),
            UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: " "), UInt8(ascii: "]"), UInt8(ascii: ";"),
            UInt8(ascii: "#"), UInt8(ascii: "x"), UInt8(ascii: "?"), UInt8(ascii: "!"), UInt8(ascii: ":"),
            0x00, 0x0D, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xED, 0xEF, 0xF4, 0xF8, 0xFF,
        ]
        var changed = 0
        // Each change is read three ways against libxml2: in place (as an SFTP download or a
        // queue message is), and streamed through two buffer sizes that move with the changed
        // byte, so that the buffer's refills, moves and re-bases (the path every file read from
        // a descriptor takes) fall at every distance from it across the run.
        func expectSameAllWays(_ bytes: [UInt8], _ label: String, at index: Int) {
            Self.expectSame(bytes, label)
            Self.expectSame(bytes, label + ", buffer \(16 + index % 31)", buffer: 16 + index % 31)
            Self.expectSame(bytes, label + ", buffer \(47 + index % 29)", buffer: 47 + index % 29)
        }
        for index in base.indices {
            for byte in replacements where base[index] != byte {
                var bytes = base
                bytes[index] = byte
                expectSameAllWays(bytes, "byte \(index) set to \(byte)", at: index)
                changed += 1
            }
            var removed = base
            removed.remove(at: index)
            expectSameAllWays(removed, "byte \(index) removed", at: index)
            var doubled = base
            doubled.insert(base[index], at: index)
            expectSameAllWays(doubled, "byte \(index) doubled", at: index)
        }
        #expect(changed > 10_000)
    }

    @Test("what the scanner leaves to libxml2 is read there: comments, CDATA, namespaces, DOCTYPE, limits")
    func leavesTheRestToLibxml2() throws {
        let idoc = XMLFixture.idoc(docnum: "1")
        let cases: [(String, String)] = [
            ("comment", XMLFixture.file(idocs: [idoc, "<!-- note -->" + idoc])),
            ("CDATA", XMLFixture.file(idocs: [idoc.replacingOccurrences(of: "4711", with: "<![CDATA[47<11]]>")])),
            ("processing instruction", XMLFixture.file(idocs: [idoc, "<?app x?>"])),
            ("namespace", XMLFixture.file(idocs: ["<x:IDOC xmlns:x=\"urn:x\">" + XMLFixture.controlRecord(docnum: "2") + "</x:IDOC>"])),
            ("default namespace", XMLFixture.file(root: "ORDERS05 xmlns=\"urn:sap\"", idocs: [idoc]).replacingOccurrences(of: "</ORDERS05 xmlns=\"urn:sap\">", with: "</ORDERS05>")),
            ("DOCTYPE", "<!DOCTYPE ORDERS05>" + XMLFixture.file(prolog: "", idocs: [idoc])),
            ("XML 1.1", XMLFixture.file(prolog: "<?xml version=\"1.1\"?>", idocs: [idoc])),
            ("no control record", XMLFixture.file(idocs: [idoc, "<IDOC><E1/></IDOC>"])),
            ("no IDoc", XMLFixture.file(idocs: ["<E1/>"])),
            ("empty root", "<ORDERS05/>"),
            ("CR in a field", XMLFixture.file(idocs: [idoc.replacingOccurrences(of: "<MANDT>100", with: "<MANDT>1\r00")])),
            ("mismatched end tag", XMLFixture.file(idocs: [idoc, idoc.replacingOccurrences(of: "</E1EDK01>", with: "</E1EDK02>")])),
            ("duplicate attribute", XMLFixture.file(idocs: [idoc.replacingOccurrences(of: "BEGIN=\"1\"", with: "B=\"1\" B='2'")])),
            ("unknown entity", XMLFixture.file(idocs: [idoc.replacingOccurrences(of: "4711", with: "&nbsp;")])),
            ("]]> in text", XMLFixture.file(idocs: [idoc.replacingOccurrences(of: "4711", with: "a]]>b")])),
            ("text after the root", XMLFixture.file(idocs: [idoc]) + "x"),
            ("cut", String(XMLFixture.file(idocs: [idoc, idoc]).dropLast(20))),
        ]
        for (name, text) in cases {
            let bytes = Array(text.utf8)
            var scanner = PlainIDocScanner(.bytes(bytes), limits: .default)
            #expect(try !scanner.scan { _ in }, "\(name): the scanner should leave it to libxml2")
            Self.expectSame(bytes, name)
        }
        // Limits: libxml2's path words the refusal.
        let deep = XMLFixture.file(idocs: ["<IDOC>" + XMLFixture.controlRecord(docnum: "1") + String(repeating: "<A>", count: 70) + String(repeating: "</A>", count: 70) + "</IDOC>"])
        let tight = CodecLimits(maxDepth: 64, maxDocumentBytes: 600)
        for (name, text) in [("deep", deep), ("large", XMLFixture.file(idocs: [XMLFixture.idoc(docnum: "1", segments: XMLFixture.typicalSegments)]))] {
            let scanned = CodecHarness.decode(Self.codec(scans: true, buffer: 64), .bytes(Array(text.utf8)), limits: tight)
            let parsed = CodecHarness.decode(Self.codec(scans: false), .bytes(Array(text.utf8)), limits: tight)
            #expect(scanned.rejection != nil, "\(name)")
            #expect(scanned.rejection == parsed.rejection, "\(name)")
        }
    }

    @Test("when the scanner gives up after some IDocs, each IDoc is still emitted once")
    func fallbackAfterIDocs() throws {
        let idocs = (1...4).map { XMLFixture.idoc(docnum: "\($0)") }
        let text = XMLFixture.file(idocs: Array(idocs[0..<2]) + ["<!-- from here on libxml2 reads -->" + idocs[2], idocs[3]])
        var scanner = PlainIDocScanner(.bytes(Array(text.utf8)), limits: .default)
        #expect(try !scanner.scan { _ in })
        #expect(scanner.emitted == 2)
        let outcome = CodecHarness.decode(Self.codec(scans: true), .bytes(Array(text.utf8)))
        #expect(outcome.rejection == nil)
        #expect(outcome.documents.map(\.ordinal) == [0, 1, 2, 3])
        #expect(outcome.documents.map { $0.control?.docnum } == ["1", "2", "3", "4"])
        #expect(outcome.documents == CodecHarness.decode(Self.codec(scans: false), .bytes(Array(text.utf8))).documents)
    }
}
