import EventModel
import Foundation
import HubServer
import IDocFlat
import IDocXML
import SpendMapping
import Testing

/// The canonical model on each storage that keeps one (SQLite, PostgreSQL): authored chains of
/// purchase order, receipts and invoices, each three-way-match exception, failures, protected
/// fields, regional overrides and remapping.
@Suite struct CanonicalStorageTests {
    static var kinds: [StorageKind] { StorageKind.allCases.filter { $0 != .inMemory } }

    static func withCanonical<T>(_ kind: StorageKind, _ body: (any HubStorage & CanonicalStorage) async throws -> T) async throws -> T {
        try await kind.withStorage { storage in
            guard let canonical = storage as? any HubStorage & CanonicalStorage else {
                Issue.record("\(kind) keeps no canonical model")
                throw CanonicalTestFailure()
            }
            return try await body(canonical)
        }
    }

    static func store(_ storage: any HubStorage, _ events: [String], agent: String = "plant-emea-01", region: String = "emea") async throws {
        let incoming = events.map { json -> IncomingEvent in
            let object = try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            return IncomingEvent(
                id: object["id"] as! String, type: object["type"] as! String, source: object["source"] as! String,
                region: region, agentID: agent, json: Data(json.utf8))
        }
        let outcome = try await storage.store(IngestBatch(agentID: agent, region: region, receivedAt: Date(), events: incoming))
        #expect(outcome.accepted == events.count)
    }

    static func mapper(_ storage: any CanonicalStorage, overrides: [ProfileOverride] = [], tolerance: String = "0") -> MappingService {
        MappingService(
            storage: storage, mapper: DocumentMapper(overrides: overrides), tolerancePercent: ExactDecimal(tolerance)!,
            reader: { data, _ in
                if data.starts(with: Array("EDI_DC40".utf8)) {
                    return FlatSegmentTree.read(data, layout: .builtIn).map { ("", $0) }
                }
                return try data.withUnsafeBytes { try IDocSegmentReader.read($0) }
            }, logger: HubFixtures.logger)
    }

    typealias Item = AuthoredIDocs.Item

    static let order1 = AuthoredIDocs.order(
        "4500000001", items: [Item(number: "00010", quantity: "10.000", net: "100.00"), Item(number: "00020", quantity: "5.000", net: "50.00")],
        docnum: "0000000000000001")

    @Test(arguments: kinds) func aPurchaseOrderWithTwoPartialReceiptsAndItsInvoiceMatch(kind: StorageKind) async throws {
        try await Self.withCanonical(kind) { storage in
            try await Self.store(storage, [
                AuthoredIDocs.event(id: "po-1", type: "sap.idoc.ORDERS", xml: Self.order1),
                AuthoredIDocs.event(id: "gr-1", type: "sap.idoc.WMMBXY", xml: AuthoredIDocs.receipt(
                    "LS-1", order: "4500000001", items: [Item(number: "00010", quantity: "4.000", net: nil)], docnum: "0000000000000002")),
            ])
            try await Self.store(storage, [
                AuthoredIDocs.event(id: "gr-2", type: "sap.idoc.WMMBXY", xml: AuthoredIDocs.receipt(
                    "LS-2", order: "4500000001",
                    items: [Item(number: "00010", quantity: "6.000", net: nil), Item(number: "00020", quantity: "5.000", net: nil)],
                    docnum: "0000000000000003")),
                AuthoredIDocs.event(id: "inv-1", type: "sap.idoc.INVOIC", xml: AuthoredIDocs.invoice(
                    "INV-1", order: "4500000001",
                    items: [Item(number: "10", quantity: "10.000", net: "100.00"), Item(number: "20", quantity: "5.000", net: "50.00")],
                    docnum: "0000000000000004")),
            ])
            let progress = try await Self.mapper(storage).catchUp()
            #expect(progress == { var p = MappingService.Progress(); p.events = 4; p.mapped = 4; return p }())
            let totals = try await storage.spend(SpendQuery())
            #expect(totals.count == 1)
            #expect(totals.first?.currency == "EUR")
            #expect(totals.first?.ordered == ExactDecimal("150.00"))
            #expect(totals.first?.received == ExactDecimal("150.00"))
            #expect(totals.first?.invoiced == ExactDecimal("150.00"))
            let lines = try await storage.lines(forPurchaseOrder: "4500000001")
            let match = PurchaseOrderMatch(poNumber: "4500000001", lines: lines, tolerancePercent: .zero)
            #expect(match.known)
            #expect(match.items.map(\.item) == ["10", "20"])
            #expect(match.items.first?.receivedQuantity == ExactDecimal("10"))
            #expect(match.items.first?.receivedAmount == ExactDecimal("100"))
            #expect(match.exceptions.isEmpty)
            #expect(try await storage.exceptions(ExceptionQuery()).isEmpty)
            let trail = try await storage.trail(kind: .purchaseOrder, number: "4500000001")
            #expect(trail.map(\.eventID) == ["po-1", "gr-1", "gr-2", "inv-1"])
            #expect(trail.allSatisfy { $0.region == "emea" && $0.agent == "plant-emea-01" })
            // Mapping again finds nothing new: each event is mapped once.
            #expect(try await Self.mapper(storage).catchUp().events == 0)
        }
    }

    @Test(arguments: kinds) func aPurchaseOrderChangeIsALaterVersionAndRevaluesItsReceipts(kind: StorageKind) async throws {
        try await Self.withCanonical(kind) { storage in
            try await Self.store(storage, [
                AuthoredIDocs.event(id: "po-1", type: "sap.idoc.ORDERS", xml: Self.order1),
                AuthoredIDocs.event(id: "gr-1", type: "sap.idoc.WMMBXY", xml: AuthoredIDocs.receipt(
                    "LS-1", order: "4500000001", items: [Item(number: "00020", quantity: "5.000", net: nil)], docnum: "0000000000000002")),
            ])
            #expect(try await Self.mapper(storage).catchUp().mapped == 2)
            #expect(try await storage.spend(SpendQuery()).first?.received == ExactDecimal("50.00"))
            try await Self.store(storage, [
                AuthoredIDocs.event(id: "po-1-change", type: "sap.idoc.ORDCHG", xml: AuthoredIDocs.order(
                    "4500000001",
                    items: [Item(number: "00010", quantity: "10.000", net: "100.00"), Item(number: "00020", quantity: "5.000", net: "60.00")],
                    docnum: "0000000000000005", message: "ORDCHG"))
            ])
            #expect(try await Self.mapper(storage).catchUp().mapped == 1)
            let totals = try #require(try await storage.spend(SpendQuery()).first)
            #expect(totals.ordered == ExactDecimal("160.00"))
            #expect(totals.received == ExactDecimal("60.00"))
            let trail = try await storage.trail(kind: .purchaseOrder, number: "4500000001")
            #expect(trail.map(\.eventID) == ["po-1", "gr-1", "po-1-change"])
            #expect(trail.map(\.current) == [false, true, true])
            #expect(trail.last?.document.kind == .poChange)
        }
    }

    @Test(arguments: kinds) func everyExceptionAnAccountsPayableClerkActsOn(kind: StorageKind) async throws {
        try await Self.withCanonical(kind) { storage in
            let orderItems = [Item(number: "00010", quantity: "10.000", net: "100.00")]
            try await Self.store(storage, [
                AuthoredIDocs.event(id: "po-2", type: "sap.idoc.ORDERS", xml: AuthoredIDocs.order("4500000002", items: orderItems, docnum: "0000000000000010")),
                AuthoredIDocs.event(id: "po-3", type: "sap.idoc.ORDERS", xml: AuthoredIDocs.order("4500000003", items: orderItems, docnum: "0000000000000011")),
                AuthoredIDocs.event(id: "po-4", type: "sap.idoc.ORDERS", xml: AuthoredIDocs.order("4500000004", items: orderItems, docnum: "0000000000000012")),
                AuthoredIDocs.event(id: "gr-3", type: "sap.idoc.WMMBXY", xml: AuthoredIDocs.receipt(
                    "LS-3", order: "4500000003", items: [Item(number: "00010", quantity: "4.000", net: nil)], docnum: "0000000000000013")),
                AuthoredIDocs.event(id: "gr-4", type: "sap.idoc.WMMBXY", xml: AuthoredIDocs.receipt(
                    "LS-4", order: "4500000004", items: [Item(number: "00010", quantity: "10.000", net: nil)], docnum: "0000000000000014")),
                // No goods receipt for 4500000002 yet.
                AuthoredIDocs.event(id: "inv-2", type: "sap.idoc.INVOIC", xml: AuthoredIDocs.invoice(
                    "INV-2", order: "4500000002", items: [Item(number: "10", quantity: "10.000", net: "100.00")], docnum: "0000000000000020")),
                // Invoiced all ten, four received.
                AuthoredIDocs.event(id: "inv-3", type: "sap.idoc.INVOIC", xml: AuthoredIDocs.invoice(
                    "INV-3", order: "4500000003", items: [Item(number: "10", quantity: "10.000", net: "100.00")], docnum: "0000000000000021")),
                // 120 invoiced against 100 ordered, then the same invoice number again.
                AuthoredIDocs.event(id: "inv-4", type: "sap.idoc.INVOIC", xml: AuthoredIDocs.invoice(
                    "INV-4", order: "4500000004", items: [Item(number: "10", quantity: "10.000", net: "120.00")], docnum: "0000000000000022")),
                AuthoredIDocs.event(id: "inv-4-again", type: "sap.idoc.INVOIC", xml: AuthoredIDocs.invoice(
                    "INV-4", order: "4500000004", items: [Item(number: "10", quantity: "10.000", net: "120.00")], docnum: "0000000000000023")),
                AuthoredIDocs.event(id: "inv-x", type: "sap.idoc.INVOIC", xml: AuthoredIDocs.invoice(
                    "INV-X", order: "4599999999", items: [Item(number: "10", quantity: "1.000", net: "10.00")], docnum: "0000000000000024")),
            ])
            #expect(try await Self.mapper(storage).catchUp().mapped == 10)
            let exceptions = try await storage.exceptions(ExceptionQuery())
            let found = Set(exceptions.map { "\($0.poNumber) \($0.kind.rawValue)" })
            #expect(found == [
                "4500000002 invoice_before_receipt",
                "4500000003 invoiced_above_received",
                "4500000004 invoiced_above_ordered",
                "4500000004 duplicate_invoice",
                "4599999999 invoice_for_unknown_po",
            ])
            #expect(exceptions.allSatisfy { $0.region == "emea" })
            // The duplicate is counted once in spend: the later version replaces the earlier.
            let invoiced = try await storage.spend(SpendQuery()).first?.invoiced
            #expect(invoiced == ExactDecimal("330.00"))
            // A receipt for 4500000002 clears its exception.
            try await Self.store(storage, [
                AuthoredIDocs.event(id: "gr-2", type: "sap.idoc.WMMBXY", xml: AuthoredIDocs.receipt(
                    "LS-2", order: "4500000002", items: [Item(number: "00010", quantity: "10.000", net: nil)], docnum: "0000000000000015"))
            ])
            _ = try await Self.mapper(storage).catchUp()
            #expect(try await storage.exceptions(ExceptionQuery(kind: .invoiceBeforeReceipt)).isEmpty)
            #expect(try await storage.exceptions(ExceptionQuery(kind: .duplicateInvoice)).count == 1)
            // With a tolerance of 25 %, 120 against 100 is within.
            _ = try await storage.resetMapping(since: nil, tolerancePercent: ExactDecimal("25")!)
            _ = try await Self.mapper(storage, tolerance: "25").catchUp()
            #expect(try await storage.exceptions(ExceptionQuery(kind: .invoicedAboveOrdered)).isEmpty)
        }
    }

    @Test(arguments: kinds) func failedMappingsAreRecordedNeverFatal(kind: StorageKind) async throws {
        try await Self.withCanonical(kind) { storage in
            let bad = AuthoredIDocs.invoice(
                "INV-9", order: "4500000001", currency: "XYZ", items: [Item(number: "10", quantity: "1.000", net: "12,50")],
                docnum: "0000000000000030")
            try await Self.store(storage, [
                AuthoredIDocs.event(id: "inv-bad", type: "sap.idoc.INVOIC", xml: bad),
                AuthoredIDocs.event(id: "not-xml", type: "sap.idoc.ORDERS", xml: "<ORDERS05><IDOC BEGIN=\"1\"><EDI_DC40>"),
                AuthoredIDocs.event(id: "po-1", type: "sap.idoc.ORDERS", xml: Self.order1),
            ])
            let progress = try await Self.mapper(storage).catchUp()
            #expect(progress.mapped == 1)
            #expect(progress.failed == 2)
            let failures = try await storage.mappingFailures(after: nil, limit: 10)
            #expect(failures.map(\.eventID) == ["inv-bad", "not-xml"])
            let fields = Set(failures.first?.problems.map(\.field) ?? [])
            #expect(fields == ["items[0].net_value", "currency"])
            #expect(failures.first?.problems.contains { $0.reason.contains("'12,50' is not a decimal") } == true)
            #expect(failures.first?.problems.contains { $0.reason.contains("'XYZ' is not an ISO 4217") } == true)
            let statistics = try await storage.mappingStatistics()
            #expect(statistics.failures.map { "\($0.region) \($0.type) \($0.count)" }.sorted() == ["emea sap.idoc.INVOIC 1", "emea sap.idoc.ORDERS 1"])
            // The events stay stored as always.
            #expect(try await storage.event(id: "inv-bad") != nil)
        }
    }

    @Test(arguments: kinds) func bankDetailsAndTaxNumbersNeverReachTheCanonicalModel(kind: StorageKind) async throws {
        try await Self.withCanonical(kind) { storage in
            try await Self.store(storage, [
                AuthoredIDocs.event(id: "cremas-1", type: "sap.idoc.CREMAS", xml: AuthoredIDocs.supplier("V100", docnum: "0000000000000040"))
            ])
            #expect(try await Self.mapper(storage).catchUp().mapped == 1)
            let trail = try await storage.trail(kind: .supplier, number: "V100")
            #expect(trail.count == 1)
            #expect(trail.first?.document.attributes?["name"] == "Kessler Antriebstechnik GmbH")
            let encoded = String(decoding: try JSONEncoder().encode(trail), as: UTF8.self)
            for secret in [AuthoredIDocs.secretBankAccount, AuthoredIDocs.secretTaxNumber, "0532013000", "37040044"] {
                #expect(!encoded.contains(secret))
            }
        }
    }

    @Test(arguments: kinds) func aRegionalOverrideMapsANamespacedExtension(kind: StorageKind) async throws {
        try await Self.withCanonical(kind) { storage in
            var override = ProfileOverride(name: "emea-acme-orders", extends: "orders")
            override.region = "emea"
            override.extensionType = "_-ACME_-ORDERS05_EXT"
            override.item["cost_centre"] = [try FieldPath(parsing: "_-ACME_-Z1KOSTL/KOSTL")]
            override.attributes["payment_terms"] = [try FieldPath(parsing: "E1EDK01/_-ACME_-ZTERMS/ZTERM_TXT")]
            let xml = AuthoredIDocs.order(
                "4500000100",
                items: [Item(number: "00010", quantity: "1.000", net: "10.00", extra: "<_-ACME_-Z1KOSTL SEGMENT=\"1\"><KOSTL>CC-4711</KOSTL></_-ACME_-Z1KOSTL>")],
                docnum: "0000000000000050", root: "_-ACME_-ORDERS05_EXT",
                header: "<_-ACME_-ZTERMS SEGMENT=\"1\"><ZTERM_TXT>Net 30</ZTERM_TXT></_-ACME_-ZTERMS>")
            try await Self.store(storage, [AuthoredIDocs.event(id: "po-ext", type: "sap.idoc.ORDERS", xml: xml)])
            #expect(try await Self.mapper(storage, overrides: [override]).catchUp().mapped == 1)
            let document = try #require(try await storage.trail(kind: .purchaseOrder, number: "4500000100").first?.document)
            #expect(document.profile == "emea-acme-orders")
            #expect(document.items.first?.costCentre == "CC-4711")
            #expect(document.attributes?["payment_terms"] == "Net 30")
            var query = SpendQuery()
            query.groupBy = [.costCentre]
            #expect(try await storage.spend(query).map { $0.group["cost_centre"] } == ["CC-4711"])
        }
    }

    @Test(arguments: kinds) func aPageOfEventsToMapIsBoundedInBytes(kind: StorageKind) async throws {
        try await Self.withCanonical(kind) { storage in
            let events = (1...3).map { AuthoredIDocs.event(id: "po-\($0)", type: "sap.idoc.ORDERS", xml: Self.order1) }
            try await Self.store(storage, events)
            let size = events[0].utf8.count
            // The second event starts below the bound, the third at or above it.
            let page = try await storage.eventsToMap(after: nil, limit: 10, maxBytes: size + size / 2)
            #expect(page.map(\.id) == ["po-1", "po-2"])
            let one = try await storage.eventsToMap(after: nil, limit: 10, maxBytes: 1)
            #expect(one.map(\.id) == ["po-1"], "a page holds at least one event")
            let rest = try await storage.eventsToMap(after: page.last?.position, limit: 10, maxBytes: 1 << 20)
            #expect(rest.map(\.id) == ["po-3"])
        }
    }

    @Test(arguments: kinds) func remappingAppliesAChangedProfileWithoutResending(kind: StorageKind) async throws {
        try await Self.withCanonical(kind) { storage in
            try await Self.store(storage, [AuthoredIDocs.event(id: "po-1", type: "sap.idoc.ORDERS", xml: Self.order1)])
            #expect(try await Self.mapper(storage).catchUp().mapped == 1)
            var query = SpendQuery()
            query.groupBy = [.plant]
            #expect(try await storage.spend(query).map { $0.group["plant"] } == ["1000"])
            // The plant now comes from a default (the item's plant field is no longer read).
            var override = ProfileOverride(name: "emea-plant", extends: "orders")
            override.region = "emea"
            override.item["plant"] = [try FieldPath(parsing: "ZZPLANT")]
            override.defaults["plant"] = "EMEA-HQ"
            let dropped = try await storage.resetMapping(since: nil, tolerancePercent: .zero)
            #expect(dropped == 1)
            #expect(try await Self.mapper(storage, overrides: [override]).catchUp().mapped == 1)
            #expect(try await storage.spend(query).map { $0.group["plant"] } == ["EMEA-HQ"])
            #expect(try await storage.trail(kind: .purchaseOrder, number: "4500000001").count == 1)
            // Since a time after every event: nothing to remap.
            #expect(try await storage.resetMapping(since: Date().addingTimeInterval(3600), tolerancePercent: .zero) == 0)
        }
    }
}

struct CanonicalTestFailure: Error {}
