import Foundation
import HubServer
import HummingbirdTesting
import SpendMapping
import Testing
import TestSupport

/// The canonical model's HTTP API and dashboard, on a SQLite hub: behind the read token,
/// clear 400s and 404s, and the dashboard's spend, failed-mapping and exception tables.
@Suite struct SpendAPITests {
    typealias Item = AuthoredIDocs.Item

    /// A hub file with one purchase order, an invoice above it and one invoice that cannot be mapped.
    static func filled(_ body: (SQLiteHubStorage) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spend-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try SQLiteHubStorage(path: directory.appendingPathComponent("hub.sqlite").path)
        try await CanonicalStorageTests.store(storage, [
            AuthoredIDocs.event(id: "po-1", type: "sap.idoc.ORDERS", xml: CanonicalStorageTests.order1),
            AuthoredIDocs.event(id: "inv-1", type: "sap.idoc.INVOIC", xml: AuthoredIDocs.invoice(
                "INV-1", order: "4500000001", items: [Item(number: "10", quantity: "10.000", net: "130.00")], docnum: "0000000000000004")),
            AuthoredIDocs.event(id: "inv-bad", type: "sap.idoc.INVOIC", xml: AuthoredIDocs.invoice(
                "INV-2", order: "4500000001", currency: "EURO", items: [Item(number: "10", quantity: "1", net: "1")], docnum: "0000000000000005")),
        ])
        #expect(try await CanonicalStorageTests.mapper(storage).catchUp() == {
            var progress = MappingService.Progress()
            (progress.events, progress.mapped, progress.failed) = (3, 2, 1)
            return progress
        }())
        try await body(storage)
    }

    @Test func theSpendAPIAnswersBehindTheReadToken() async throws {
        try await Self.filled { storage in
            let configuration = HubFixtures.configuration(readToken: HubFixtures.readToken)
            try await withHub(storage, configuration: configuration) { client in
                for path in ["/v1/spend", "/v1/match/4500000001", "/v1/exceptions", "/v1/documents/purchase_order/4500000001", "/v1/mapping-failures"] {
                    try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .unauthorized, "\(path) without the read token")
                    }
                }
                let token = HubFixtures.headers(token: HubFixtures.readToken)
                try await client.execute(uri: "/v1/spend?group_by=region,supplier&from=2026-01&to=2026-12", method: .get, headers: token) { response in
                    #expect(response.status == .ok)
                    let json = try response.json
                    #expect(json["group_by"] as? [String] == ["region", "supplier"])
                    let totals = try #require(json["totals"] as? [[String: Any]])
                    #expect(totals.count == 1)
                    #expect(totals.first?["group"] as? [String: String] == ["region": "emea", "supplier": "V100"])
                    #expect(totals.first?["ordered"] as? String == "150.00")
                    #expect(totals.first?["invoiced"] as? String == "130.00")
                }
                try await client.execute(uri: "/v1/spend?from=2027-01", method: .get, headers: token) { response in
                    let totals = try response.json["totals"] as? [Any]
                    #expect(totals?.isEmpty == true, "no spend after the documents' month")
                }
                for bad in ["/v1/spend?group_by=colour", "/v1/spend?from=2026-13", "/v1/spend?size=1", "/v1/exceptions?kind=late", "/v1/mapping-failures?after=x"] {
                    try await client.execute(uri: bad, method: .get, headers: token) { response in
                        #expect(response.status == .badRequest, "\(bad)")
                    }
                }
                try await client.execute(uri: "/v1/match/4500000001", method: .get, headers: token) { response in
                    let json = try response.json
                    #expect(json["known"] as? Bool == true)
                    let kinds = (json["exceptions"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }
                    #expect(kinds == ["invoiced_above_ordered", "invoice_before_receipt"])
                }
                try await client.execute(uri: "/v1/exceptions?region=emea&kind=invoiced_above_ordered", method: .get, headers: token) { response in
                    let exceptions = try #require(try response.json["exceptions"] as? [[String: Any]])
                    #expect(exceptions.map { $0["invoice_number"] as? String } == ["INV-1"])
                }
                try await client.execute(uri: "/v1/mapping-failures", method: .get, headers: token) { response in
                    let failures = try #require(try response.json["mapping_failures"] as? [[String: Any]])
                    #expect(failures.map { $0["event_id"] as? String } == ["inv-bad"])
                    let problems = failures.first?["problems"] as? [[String: String]]
                    #expect(problems?.first?["field"] == "currency")
                }
                try await client.execute(uri: "/v1/stats", method: .get, headers: token) { response in
                    let mapping = try #require(try response.json["mapping"] as? [String: Any])
                    let failed = try #require(mapping["failed_mappings"] as? [[String: Any]])
                    #expect(failed.first?["region"] as? String == "emea")
                    #expect(failed.first?["type"] as? String == "sap.idoc.INVOIC")
                    #expect(failed.first?["count"] as? Int == 1)
                }
                for missing in ["/v1/match/4599999999", "/v1/documents/invoice/NOPE", "/v1/documents/offer/1"] {
                    try await client.execute(uri: missing, method: .get, headers: token) { response in
                        #expect(response.status == .notFound, "\(missing)")
                    }
                }
            }
        }
    }

    @Test func theDashboardShowsSpendFailedMappingsAndExceptionsByRegion() async throws {
        try await Self.filled { storage in
            try await withHub(storage) { client in
                try await client.execute(uri: "/", method: .get) { response in
                    let html = response.text
                    #expect(html.contains(#"id="failed-mappings"><div class="value">1<"#))
                    #expect(html.contains(#"id="exceptions"><div class="value">2<"#))
                    #expect(html.contains(#"<tr class="spend"><td>emea</td><td>EUR</td><td class="num">150.00</td><td class="num">0</td><td class="num">130.00</td></tr>"#))
                    #expect(html.contains(#"<tr class="failed-mapping"><td>emea</td><td>sap.idoc.INVOIC</td>"#))
                    #expect(html.contains("<code>invoiced_above_ordered</code>"))
                }
            }
        }
    }

    @Test(.enabled(if: IntegrationGate.runs(Chromium.path != nil), "chromium is not installed"))
    func theDashboardRendersTheSpendTablesInChromium() async throws {
        try await Self.filled { storage in
            try await withHub(storage, setup: .live) { client in
                let port = try #require(client.port)
                let dom = try await Chromium.dumpDOM("http://127.0.0.1:\(port)/")
                #expect(dom.contains("Spend by region"))
                #expect(dom.contains(#"<tr class="spend">"#))
                #expect(dom.contains(#"<tr class="failed-mapping">"#))
            }
        }
    }
}
