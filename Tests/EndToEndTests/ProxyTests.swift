import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// The built agent reaching the built hub through tinyproxy on loopback (`hub.proxy`,
    /// `hub.proxy_credentials_file`): wrong credentials keep every event in the outbox with the
    /// reason in `outpost status`; the right ones deliver them all, through the proxy.
    @Suite("Through an HTTP proxy", .enabled(if: TinyProxy.shouldRun, "tinyproxy is not installed"))
    struct ProxyTests {
        @Test("wrong proxy credentials hold every event with the reason in status; the right ones deliver them all")
        func wrongThenRightCredentials() async throws {
            let proxy = try await TinyProxy(user: "outpost", password: "s3cret")
            do {
                try await Scenario.run("proxy") { s in
                    let credentials = s.dirs.work + "/proxy.cred"
                    try "outpost:wrong\n".write(toFile: credentials, atomically: true, encoding: .utf8)
                    chmod(credentials, 0o600)
                    s.agent.settings.proxy = "http://127.0.0.1:\(proxy.port)"
                    s.agent.settings.proxyCredentialsFile = credentials
                    try await s.hub.start()
                    try await s.agent.start()
                    let docnums = (1...10).map { IDocFixtures.docnum(500_000 + $0) }
                    try s.dirs.publish("ORDERS_proxy.xml", IDocFixtures.xmlFile(docnums: docnums))

                    var last: [String: Any] = [:]
                    // 10 documents pending, and the agent's heartbeats with them.
                    try await s.eventually("the agent reports the proxy's refusal with the 10 documents pending") {
                        last = try await s.agent.status()
                        let reason = "\(last["last_delivery_error"] ?? "") \(last["delivery_paused"] ?? "")"
                        return (last["pending_events"] as? Int ?? 0) >= 10 && reason.contains("proxy 127.0.0.1:\(proxy.port)")
                    }
                    let reason = "\(last["last_delivery_error"] ?? "") \(last["delivery_paused"] ?? "")"
                    #expect(reason.contains("proxy_credentials_file"), "\(reason)")
                    #expect(last["dead_letters"] as? Int == 0)
                    #expect(try await s.hub.stats().events == 0)

                    #expect(await s.agent.terminate() == 0)
                    try "outpost:s3cret\n".write(toFile: credentials, atomically: true, encoding: .utf8)
                    chmod(credentials, 0o600)
                    try await s.agent.start()
                    try await s.waitForHubEvents(10)
                    let events = try await s.hub.events()
                    #expect(events.map(\.id) == docnums.map { IDocFixtures.eventID(docnum: $0) })
                    try await s.waitForDrainedOutbox()
                    #expect(proxy.log().contains { $0.contains("CONNECT 127.0.0.1:\(s.hub.port)") }, "\(proxy.log())")
                }
            } catch {
                await proxy.stop()
                throw error
            }
            await proxy.stop()
        }
    }
}
