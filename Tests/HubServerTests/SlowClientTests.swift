import Foundation
import HubServer
import Hummingbird
import HummingbirdTesting
import OutpostConfig
import Testing
import TestSupport

private typealias F = HubFixtures

/// Slow and hostile clients over real loopback sockets against a hub listening on a port:
/// each is closed (or refused) within its limit while `/healthz` and an agent's batch are
/// still served.
@Suite("Hub connection limits", .serialized)
struct SlowClientTests {
    static func configuration(
        headerTimeout: Double = 1, minBodyRate: Int = 1024, maxHeaderBytes: Int = 16 << 10, maxConnections: Int = 4096
    ) -> HubConfiguration {
        var configuration = F.configuration()
        configuration.headerTimeout = headerTimeout
        configuration.minBodyRate = minBodyRate
        configuration.maxHeaderBytes = maxHeaderBytes
        configuration.maxConnections = maxConnections
        return configuration
    }

    static func request(_ method: String, _ path: String, token: String? = nil, body: String = "") -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let token { text += "Authorization: Bearer \(token)\r\n" }
        if !body.isEmpty { text += "Content-Type: application/cloudevents-batch+json\r\nContent-Length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + body
    }

    /// `/healthz` and a stored batch, on a new keep-alive connection as an agent opens one.
    static func agentIsServed(port: Int, id: String) async throws {
        let agent = try RawLoopbackSocket(port: port)
        agent.send(request("GET", "/healthz"))
        #expect(await agent.readResponse(within: 5)?.status == 200, "/healthz was not answered")
        agent.send(request("POST", "/v1/events", token: F.emeaToken, body: "[" + F.event(id: id) + "]"))
        #expect(await agent.readResponse(within: 5)?.body == #"{"accepted":1,"duplicates":0,"rejected":[]}"#, "batch \(id) was not stored")
    }

    @Test func requestsStalledInTheirHeadersAreClosedAfterTheHeaderTimeout() async throws {
        try await withHub(InMemoryHubStorage(), configuration: Self.configuration(headerTimeout: 1), setup: .live) { client in
            let port = try #require(client.port)
            let stalled = try (0..<100).map { _ in try RawLoopbackSocket(port: port) }
            for socket in stalled {
                #expect(socket.send("POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
            }
            try await Self.agentIsServed(port: try #require(client.port), id: "during-stall")
            let started = Date()
            var closed = 0
            for socket in stalled where await socket.closedByServer(within: max(0.1, 8 - Date().timeIntervalSince(started))) { closed += 1 }
            #expect(closed == stalled.count, "\(stalled.count - closed) stalled connections still open")
            #expect(Date().timeIntervalSince(started) < 8, "header_timeout is 1 s")
            try await Self.agentIsServed(port: try #require(client.port), id: "after-stall")
        }
    }

    @Test func aConnectionThatSendsNothingIsClosedAfterTheHeaderTimeout() async throws {
        try await withHub(InMemoryHubStorage(), configuration: Self.configuration(headerTimeout: 1), setup: .live) { client in
            let silent = try RawLoopbackSocket(port: try #require(client.port))
            #expect(await silent.closedByServer(within: 4))
        }
    }

    @Test func headersTrickledAByteASecondAreClosedAfterTheHeaderTimeout() async throws {
        try await withHub(InMemoryHubStorage(), configuration: Self.configuration(headerTimeout: 2), setup: .live) { client in
            let trickle = try RawLoopbackSocket(port: try #require(client.port))
            let started = Date()
            var sent = 0
            // One byte a second keeps the connection busy, but the headers never complete in time.
            for byte in Array(Self.request("GET", "/healthz").utf8) where Date().timeIntervalSince(started) < 8 {
                guard trickle.send([byte]) else { break }
                sent += 1
                if await trickle.closedByServer(within: 1) { break }
            }
            #expect(Date().timeIntervalSince(started) < 5, "closed after \(sent) bytes")
            #expect(await trickle.closedByServer(within: 1))
            try await Self.agentIsServed(port: try #require(client.port), id: "after-header-trickle")
        }
    }

    @Test func aBodyTrickledAByteASecondIsClosedOnceItFallsBelowTheMinimumRate() async throws {
        try await withHub(
            InMemoryHubStorage(), configuration: Self.configuration(headerTimeout: 1, minBodyRate: 100), setup: .live
        ) { client in
            let trickle = try RawLoopbackSocket(port: try #require(client.port))
            let body = "[" + F.event(id: "trickled") + "]"
            let request = Self.request("POST", "/v1/events", token: F.emeaToken, body: body)
            let headLength = request.utf8.count - body.utf8.count
            #expect(trickle.send(String(request.prefix(headLength))))
            let started = Date()
            for byte in Array(body.utf8) where Date().timeIntervalSince(started) < 10 {
                guard trickle.send([byte]) else { break }
                if await trickle.closedByServer(within: 1) { break }
            }
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed < 5, "a body at 1 byte/s held the connection \(elapsed) s")
            #expect(await trickle.closedByServer(within: 1))
            try await Self.agentIsServed(port: try #require(client.port), id: "after-body-trickle")
            let reader = try RawLoopbackSocket(port: try #require(client.port))
            reader.send(Self.request("GET", "/v1/events/trickled"))
            #expect(await reader.readResponse(within: 5)?.status == 404, "the trickled batch was stored")
        }
    }

    @Test func a100KiBHeaderIsAnswered431() async throws {
        try await withHub(InMemoryHubStorage(), configuration: Self.configuration(maxHeaderBytes: 16 << 10), setup: .live) { client in
            let oversized = try RawLoopbackSocket(port: try #require(client.port))
            oversized.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + String(repeating: "a", count: 100 << 10) + "\r\n\r\n")
            let answer = await oversized.readResponse(within: 5)
            #expect(answer?.status == 431)
            #expect(answer?.body.contains("larger than 16384 bytes") == true)
            #expect(await oversized.closedByServer(within: 2))
            try await Self.agentIsServed(port: try #require(client.port), id: "after-431")
        }
    }

    @Test func connectionsBeyondTheCapAreClosedAtAcceptWhileOpenOnesAreServed() async throws {
        try await withHub(
            InMemoryHubStorage(), configuration: Self.configuration(headerTimeout: 30, maxConnections: 20), setup: .live
        ) { client in
            let port = try #require(client.port)
            let agent = try RawLoopbackSocket(port: port)
            agent.send(Self.request("POST", "/v1/events", token: F.emeaToken, body: "[" + F.event(id: "cap:1") + "]"))
            #expect(await agent.readResponse(within: 5)?.status == 200)
            // The test client holds one connection too: with the agent's, 20.
            var holders = try (0..<18).map { _ in try RawLoopbackSocket(port: port) }
            // The cap is reached once the hub has accepted the holders; later connections are closed at accept.
            try await Task.sleep(for: .milliseconds(500))
            let refused = try (0..<10).map { _ in try RawLoopbackSocket(port: port) }
            var closed = 0
            for socket in refused where await socket.closedByServer(within: 3) { closed += 1 }
            #expect(closed == refused.count, "\(refused.count - closed) connections over the cap were kept")
            var holdersClosed = 0
            for socket in holders where await socket.closedByServer(within: 0.05) { holdersClosed += 1 }
            #expect(holdersClosed == 0, "\(holdersClosed) connections under the cap were closed")
            agent.send(Self.request("POST", "/v1/events", token: F.emeaToken, body: "[" + F.event(id: "cap:2") + "]"))
            #expect(await agent.readResponse(within: 5)?.body == #"{"accepted":1,"duplicates":0,"rejected":[]}"#)
            agent.send(Self.request("GET", "/healthz"))
            #expect(await agent.readResponse(within: 5)?.status == 200)
            holders.removeAll()
            try await Task.sleep(for: .milliseconds(500))
            try await Self.agentIsServed(port: try #require(client.port), id: "cap:after")
        }
    }
}
