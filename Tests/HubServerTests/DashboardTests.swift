import Foundation
@testable import HubServer
import HummingbirdTesting
import Testing
import TestSupport

@Suite("Dashboard")
struct DashboardTests {
    @Test("GET / renders agents, backlog, latency, duplicates and rejections from storage", arguments: StorageKind.allCases)
    func rendersFromStorage(kind: StorageKind) async throws {
        try await kind.withStorage { storage in
            try await DashboardFixture.fill(storage, now: Date().timeIntervalSince1970.rounded(.down))
            try await withHub(storage) { client in
                try await client.execute(uri: "/", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    let html = response.text
                    #expect(html.contains(#"<meta http-equiv="refresh""#))
                    #expect(!html.contains("<script src") && !html.contains("http://") && !html.contains("https://"))
                    #expect(html.contains(#"<tr class="agent silent" data-agent="plant-apac-01">"#))
                    #expect(html.contains(#"<tr class="agent silent" data-agent="plant-amer-09">"#))  // never sent
                    #expect(html.contains(#"<tr class="agent" data-agent="plant-emea-01">"#))
                    #expect(html.contains("42 (84.0 KiB)"))  // backlog from the heartbeat
                    #expect(html.contains(">95.0 s<"))  // oldest pending
                    #expect(html.contains("bad&lt;1&gt;.xml"))  // escaped file name
                    #expect(html.contains("<code>malformed_xml</code>"))
                    #expect(html.contains(#"id="duplicates"><div class="value">1<"#))
                    #expect(html.contains(#"<div class="tile alert" id="conflicts"><div class="value">1<"#))
                    #expect(html.contains(#"id="dead-letters"><div class="value">3<"#))
                    #expect(html.contains(#"id="latency-p50"><div class="value">2.0 s<"#))
                    #expect(html.contains(#"id="latency-p99"><div class="value">4.0 s<"#))
                    #expect(html.contains("<title>sap.idoc.ORDERS: 2 at"))
                }
            }
        }
    }

    @Test("the page loads in headless Chromium, which renders the agents, the chart and the rejections",
          .enabled(if: IntegrationGate.runs(Chromium.path != nil), "chromium is not installed (apt-get install chromium; scripts/install-deps.sh --test does)"))
    func rendersInChromium() async throws {
        let storage = InMemoryHubStorage()
        try await DashboardFixture.fill(storage, now: Date().timeIntervalSince1970.rounded(.down))
        try await withHub(storage, setup: .live) { client in
            let port = try #require(client.port)
            let url = "http://127.0.0.1:\(port)/"
            let dom = try await Chromium.dumpDOM(url)
            #expect(dom.contains("Outpost hub"))
            #expect(dom.contains(#"data-agent="plant-apac-01""#))
            #expect(dom.contains("SILENT"))
            #expect(dom.contains("<svg id=\"chart\""))
            #expect(dom.contains("class=\"bar\""))
            #expect(dom.contains("malformed_xml"))

            let png = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString).png").path
            defer { try? FileManager.default.removeItem(atPath: png) }
            try await Chromium.screenshot(url, to: png)
            let bytes = try #require(FileManager.default.contents(atPath: png))
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))  // a PNG
            #expect(bytes.count > 10_000)  // with content, not a blank page
        }
    }

    @Test("percentiles are nearest-rank")
    func percentiles() {
        let samples = (1...100).map(Double.init)
        #expect(DashboardModel.percentile(samples, 0.5) == 50)
        #expect(DashboardModel.percentile(samples, 0.99) == 99)
        #expect(DashboardModel.percentile([], 0.5) == nil)
    }
}
