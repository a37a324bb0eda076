import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// The hub's canonical model from files an agent delivers: the repository's sample story
    /// (a purchase order, two flat goods receipts, the supplier's invoice) matched three ways.
    @Suite("Spend")
    struct SpendTests {
        static func sample(_ name: String) -> String {
            PackageLayout.root.appendingPathComponent("samples/\(name)").path
        }

        static func json(_ s: Scenario, _ path: String) async throws -> [String: Any] {
            let response = try await LoopbackHTTP.get(port: s.hub.port, path: path)
            guard response.status == 200 else {
                throw ScenarioError("GET \(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
            }
            return try response.jsonObject()
        }

        @Test("a purchase order, two partial goods receipts and the invoice match, and remap recomputes them")
        func sampleStoryMatches() async throws {
            try await Scenario.run("spend") { s in
                try await s.hub.start()
                try await s.agent.start()
                for name in ["orders05-purchase-order.xml", "wmmbid02-goods-receipts.txt", "invoic02-invoice.xml"] {
                    try s.dirs.publish(copyOf: Self.sample(name))
                }
                try await s.waitForHubEvents(4)
                var match: [String: Any] = [:]
                try await s.eventually("purchase order 4500017342 is matched") {
                    guard let answer = try? await Self.json(s, "/v1/match/4500017342"),
                          let items = answer["items"] as? [[String: Any]],
                          items.allSatisfy({ $0["invoiced_amount"] is String && $0["received_quantity"] is String })
                    else { return false }
                    match = answer
                    return true
                }
                let items = try #require(match["items"] as? [[String: Any]])
                #expect(items.map { $0["item"] as? String } == ["10", "20", "30"])
                #expect(items.map { $0["ordered_quantity"] as? String } == items.map { $0["received_quantity"] as? String })
                #expect(items.map { $0["ordered_amount"] as? String } == items.map { $0["invoiced_amount"] as? String })
                #expect((match["exceptions"] as? [Any])?.isEmpty == true, "\(match)")

                let spend = try await Self.json(s, "/v1/spend?group_by=supplier")
                let totals = try #require(spend["totals"] as? [[String: Any]])
                #expect(totals.count == 1)
                let total = try #require(totals.first)
                #expect((total["group"] as? [String: String])?["supplier"] == "0000100234")
                #expect(total["currency"] as? String == "EUR")
                for measure in ["ordered", "received", "invoiced"] {
                    #expect(total[measure] as? String == "5378.00", "\(measure): \(total)")
                }

                let trail = try await Self.json(s, "/v1/documents/purchase_order/4500017342")
                let versions = try #require(trail["versions"] as? [[String: Any]])
                // In arrival order, which the agent's pickup of the three files decides.
                #expect(versions.compactMap { $0["kind"] as? String }.sorted() == ["goods_receipt", "goods_receipt", "invoice", "purchase_order"])
                let arrivals = versions.compactMap { $0["received_at"] as? String }
                #expect(arrivals == arrivals.sorted())
                #expect(versions.allSatisfy { $0["agent"] as? String == "e2e-agent" && $0["region"] as? String == "test" })
                #expect(versions.allSatisfy { ($0["received_at"] as? String)?.hasSuffix("Z") == true })

                let stats = try await Self.json(s, "/v1/stats")
                let mapping = try #require(stats["mapping"] as? [String: Any])
                #expect(mapping["documents"] as? [String: Int] == ["purchase_order": 1, "goods_receipt": 2, "invoice": 1])
                #expect((mapping["failed_mappings"] as? [Any])?.isEmpty == true)

                // Unknown purchase order and malformed queries: clear answers.
                #expect(try await LoopbackHTTP.get(port: s.hub.port, path: "/v1/match/4599999999").status == 404)
                #expect(try await LoopbackHTTP.get(port: s.hub.port, path: "/v1/spend?group_by=colour").status == 400)
                #expect(try await LoopbackHTTP.get(port: s.hub.port, path: "/v1/documents/offer/1").status == 404)

                // `remap` recomputes everything from the stored events with the hub stopped.
                try await s.hub.stop()
                let remap = try await CommandResult.run(try Binaries.path("outpost-hub"), ["remap", "--config", s.hub.configPath])
                #expect(remap.status == 0, "\(remap)")
                #expect(remap.stdout.contains("4 canonical documents, 0 failed mappings"), "\(remap)")
                let bad = try await CommandResult.run(
                    try Binaries.path("outpost-hub"), ["remap", "--config", s.hub.configPath, "--since", "yesterday"])
                #expect(bad.status != 0 && bad.stderr.contains("is not a time"), "\(bad)")
                try await s.hub.start()
                let again = try await Self.json(s, "/v1/spend")
                #expect((again["totals"] as? [[String: Any]])?.first?["invoiced"] as? String == "5378.00")
            }
        }
    }
}
