import AgentAdmin
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// The admin listener's fixed limits against real slow clients on a loopback socket.
@Suite("Admin listener limits")
struct AdminListenerLimitsTests {
    private static let healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    @Test("a stalled request is closed after 10 s, 64 connections at most, /healthz served meanwhile")
    func slowClientsCannotHoldTheListener() async throws {
        let agent = try AgentFixture()
        let health = AgentHealth(forwarder: agent.forwarder, gate: nil)
        let exporter = AgentMetricsExporter(
            registry: agent.registry, reader: agent.reader(), agentID: "plant-emea-01", region: "emea")
        let app = buildAdminApplication(host: "127.0.0.1", port: 0, exporter: exporter, health: health, logger: agent.logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let scraper = try RawLoopbackSocket(port: port)
            scraper.send(Self.healthz)
            #expect(await scraper.readResponse(within: 5)?.status == 200)
            let stalled = try (0..<63).map { _ in try RawLoopbackSocket(port: port) }
            let started = Date()
            for socket in stalled { socket.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n") }
            try await Task.sleep(for: .milliseconds(500))
            let overCap = try RawLoopbackSocket(port: port)
            #expect(await overCap.closedByServer(within: 3), "the 65th connection was kept")
            scraper.send(Self.healthz)
            #expect(await scraper.readResponse(within: 5)?.status == 200)
            var closed = 0
            for socket in stalled where await socket.closedByServer(within: max(0.1, 14 - Date().timeIntervalSince(started))) { closed += 1 }
            #expect(closed == stalled.count, "\(stalled.count - closed) stalled requests still open")
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed > 9 && elapsed < 14, "closed after \(elapsed) s")
            let later = try RawLoopbackSocket(port: port)
            later.send(Self.healthz)
            #expect(await later.readResponse(within: 5)?.status == 200)
        }
    }
}
