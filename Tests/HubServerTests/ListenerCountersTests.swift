import Foundation
import HubServer
import OutpostConfig
import Testing
import TestSupport

private typealias F = HubFixtures

/// The connection counters of `GET /v1/stats` (`connections`), moved by real slow and hostile
/// clients over loopback: each limit that closes a connection adds exactly one to its counter.
@Suite("Hub connection counters", .serialized)
struct ListenerCountersTests {
    static func configuration() -> HubConfiguration {
        var configuration = F.configuration()
        configuration.headerTimeout = 1
        configuration.minBodyRate = 100
        configuration.idleTimeout = 1
        configuration.maxHeaderBytes = 16 << 10
        configuration.maxConnections = 10
        return configuration
    }

    /// `connections` of `GET /v1/stats`, read on a connection of its own that is closed at once.
    static func counters(port: Int) async throws -> [String: Int] {
        let reader = try RawLoopbackSocket(port: port)
        reader.send(SlowClientTests.request("GET", "/v1/stats"))
        let answer = try #require(await reader.readResponse(within: 5), "GET /v1/stats was not answered")
        #expect(answer.status == 200)
        let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        return try #require(object?["connections"] as? [String: Int], "no connections counters in \(answer.body)")
    }

    /// Counters whose values changed from `before` to `after`, with the change.
    static func moved(_ before: [String: Int], _ after: [String: Int]) -> [String: Int] {
        var changes: [String: Int] = [:]
        for (name, value) in after where name != "open" && value != before[name] { changes[name] = value - (before[name] ?? 0) }
        return changes
    }

    static func allClosed(_ sockets: [RawLoopbackSocket], within seconds: Double) async -> Int {
        let started = Date()
        var closed = 0
        for socket in sockets where await socket.closedByServer(within: max(0.1, seconds - Date().timeIntervalSince(started))) {
            closed += 1
        }
        return closed
    }

    @Test func eachLimitThatClosesAConnectionIsCounted() async throws {
        try await withHub(InMemoryHubStorage(), configuration: Self.configuration(), setup: .live) { client in
            let port = try #require(client.port)
            // The test client's own connection, silent, goes first, and on a loaded machine it may
            // still wait in the accept queue while the reader is served. Start once two readings
            // further apart than the header timeout agree and only the reader is open.
            var before = try await Self.counters(port: port)
            let started = Date()
            while Date().timeIntervalSince(started) < 10 {
                try await Task.sleep(for: .milliseconds(1_500))
                let again = try await Self.counters(port: port)
                let settled = again["open"] == 1 && Self.moved(before, again).isEmpty
                before = again
                if settled { break }
            }
            #expect(before["open"] == 1 && before["refused"] == 0 && before["slow_bodies"] == 0, "\(before)")

            // Connections that send nothing, or half a request line.
            let silent = try (0..<3).map { _ in try RawLoopbackSocket(port: port) }
            silent[1].send("POST /v1/ev")
            #expect(await Self.allClosed(silent, within: 5) == silent.count)
            var after = try await Self.counters(port: port)
            #expect(Self.moved(before, after) == ["header_timeouts": 3])

            // A keep-alive connection left waiting after its answer.
            before = after
            let idle = try RawLoopbackSocket(port: port)
            idle.send(SlowClientTests.request("GET", "/healthz"))
            #expect(await idle.readResponse(within: 5)?.status == 200)
            #expect(await idle.closedByServer(within: 5))
            after = try await Self.counters(port: port)
            #expect(Self.moved(before, after) == ["idle_timeouts": 1])

            // A body at a byte a second, under min_body_rate (100 B/s).
            before = after
            let trickle = try RawLoopbackSocket(port: port)
            let body = "[" + F.event(id: "counted-trickle") + "]"
            let request = SlowClientTests.request("POST", "/v1/events", token: F.emeaToken, body: body)
            trickle.send(String(request.prefix(request.utf8.count - body.utf8.count)))
            for byte in Array(body.utf8).prefix(10) {
                guard trickle.send([byte]) else { break }
                if await trickle.closedByServer(within: 1) { break }
            }
            #expect(await trickle.closedByServer(within: 3))
            after = try await Self.counters(port: port)
            #expect(Self.moved(before, after) == ["slow_bodies": 1])

            // Headers over max_header_bytes.
            before = after
            let oversized = try RawLoopbackSocket(port: port)
            oversized.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + String(repeating: "a", count: 32 << 10) + "\r\n\r\n")
            #expect(await oversized.readResponse(within: 5)?.status == 431)
            #expect(await oversized.closedByServer(within: 3))
            after = try await Self.counters(port: port)
            #expect(Self.moved(before, after) == ["oversized_headers": 1])

            // 25 connections at once against max_connections 10: 15 refused at accept, the
            // 10 admitted closed by the header timeout.
            before = after
            let burst = try (0..<25).map { _ in try RawLoopbackSocket(port: port) }
            #expect(await Self.allClosed(burst, within: 6) == burst.count)
            after = try await Self.counters(port: port)
            #expect(Self.moved(before, after) == ["refused": 15, "header_timeouts": 10])
            #expect(after["open"] == 1, "only the connection reading the counters is open")
        }
    }
}
