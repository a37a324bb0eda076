import EventModel
import IDocFlat
import IDocXML
import SpendMapping
import Testing
import TestSupport

/// The built-in profiles on IDocs written by others: the figures a person reads in each file.
@Suite struct PublicSampleMappingTests {
    static let event = DocumentMapper.EventFacts(eventID: "e-1", region: "emea", agent: "plant-emea-01")

    static func mapXML(_ name: String, mapper: DocumentMapper = DocumentMapper()) throws -> MappingOutcome {
        let bytes = try PublicSamples.bytes(name)
        let (root, idoc) = try bytes.withUnsafeBytes { try IDocSegmentReader.read($0) }
        return mapper.map(idoc, root: root, event: event)
    }

    static func document(_ outcome: MappingOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> CanonicalDocument {
        guard case .mapped(let document) = outcome else {
            Issue.record("expected a mapped document, got \(outcome)", sourceLocation: sourceLocation)
            throw MappingTestFailure()
        }
        return document
    }

    @Test func orders05WithANamespacedExtensionRoot() throws {
        let document = try Self.document(Self.mapXML("orders05-namespaced-ext.xml"))
        #expect(document.kind == .purchaseOrder)
        #expect(document.profile == "orders")
        #expect(document.number == "4700000325")
        #expect(document.senderSystem == "EQ2CLNT100")
        #expect(document.supplier == "0000100131")
        #expect(document.netAmount == "40098.16")
        #expect(document.currency == "USD")
        #expect(document.companyCode == "1000")
        #expect(document.purchasingOrganisation == "1000")
        #expect(document.documentDate == "2014-08-05")
        #expect(document.items.map(\.number) == ["1", "2", "3"])
        #expect(document.items.map(\.netValue) == ["10365.18", "14866.49", "14866.49"])
        #expect(document.items.map(\.quantity) == ["5602.800", "8168.400", "8168.400"])
        #expect(document.items.first?.plant == "9444")
        // The items add up to the total the file states.
        let sum = document.items.compactMap { $0.netValue.flatMap { ExactDecimal($0) } }.reduce(ExactDecimal.zero, +)
        #expect(sum == ExactDecimal("40098.16"))
    }

    @Test func invoic02WithAZExtension() throws {
        let document = try Self.document(Self.mapXML("invoic02-ext-zinv_ardo.xml"))
        #expect(document.kind == .invoice)
        #expect(document.number == "9000002067")
        #expect(document.poNumber == "9000080147")
        #expect(document.supplier == "0001005022")
        #expect(document.netAmount == "2416.95")
        #expect(document.grossAmount == "2416.95")
        #expect(document.currency == "EUR")
        #expect(document.documentDate == "2023-04-18")
        #expect(document.items.map(\.netValue) == ["907.20", "1509.75"])
        #expect(document.items.map(\.poNumber) == ["9000080147", "9000080147"])
        #expect(document.items.map(\.poItem) == ["10", "20"])
    }

    @Test func cremas05OnOneLine() throws {
        let document = try Self.document(Self.mapXML("cremas05-one-line.xml"))
        #expect(document.kind == .supplier)
        #expect(document.number == "0000100156")
        #expect(document.attributes?["name"] == "WUXI BODA BAMBOO & WOOD INDUSTRIAL")
        #expect(document.attributes?["city"] == "YIXING, JIANGSU")
        #expect(document.attributes?["posting_block"] == "X")
    }

    @Test func flatInvoic02ByCharacterOffsets() throws {
        let text = String(decoding: try PublicSamples.bytes("invoic02-flat.txt"), as: UTF8.self)
        let idoc = try #require(FlatSegmentTree.read(text, layout: .builtIn))
        let document = try Self.document(DocumentMapper().map(idoc, root: "INVOIC02", event: Self.event))
        #expect(document.kind == .invoice)
        #expect(document.number == "0237216144")
        #expect(document.senderSystem == "SAPPOE011")
        #expect(document.poNumber == "05LP00N8")
        #expect(document.supplier == "1000001418")
        #expect(document.netAmount == "120373.93")
        #expect(document.grossAmount == "139633.76")
        #expect(document.currency == "USD")
        #expect(document.documentDate == "2023-11-06")
        #expect(document.items.count == 1)
        #expect(document.items.first?.quantity == "360.000")
        #expect(document.items.first?.netValue == "120373.93")
        #expect(document.items.first?.plant == "E877")
        // The namespaced segments are read as `_-RB04_-…`, nested as the file's levels say.
        let namespaced = FieldPath.matches(try FieldPath.segments(parsing: "E1EDK01/_-RB04_-YP3_E1EDK01_XML001"), in: idoc)
        #expect(namespaced.count == 1)
    }

    @Test func anIDocWithoutAControlRecordIsNotMapped() throws {
        let bytes = try PublicSamples.bytes("debmas01-no-control-record.xml")
        let read = bytes.withUnsafeBytes { buffer in Result { try IDocSegmentReader.read(buffer) } }
        if case .success(let (root, idoc)) = read {
            #expect(DocumentMapper().map(idoc, root: root, event: Self.event) == .unmapped)
        }
    }
}

struct MappingTestFailure: Error {}
