import Foundation
import HubServer
import Hummingbird
import HummingbirdTesting
import OutpostConfig
import Testing
import TestSupport

private typealias F = HubFixtures

/// One agent flooding the hub cannot starve another: its batches past its share are answered
/// 429 with `Retry-After`, and the other agent's batches keep being stored quickly.
@Suite("Hub fairness between agents", .serialized)
struct AgentFairnessTests {
    @Test func aFloodingAgentIsAnswered429WhileAnotherAgentIsStoredWithLowLatency() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-fair-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try SQLiteHubStorage(path: directory.appendingPathComponent("hub.sqlite").path)
        var configuration = F.configuration(maxConcurrentBatches: 8)
        configuration.perAgent.maxConcurrentBatches = 2
        try await withHub(storage, configuration: configuration, setup: .live) { client in
            let port = try #require(client.port)
            let deadline = Date().addingTimeInterval(6)
            let flood = Task.detached { () -> [Int: Int] in
                // 32 connections of the flooding agent, each posting back to back until the deadline.
                await withTaskGroup(of: [Int: Int].self) { lanes in
                    for lane in 0..<32 {
                        lanes.addTask {
                            var statuses: [Int: Int] = [:]
                            guard let socket = try? RawLoopbackSocket(port: port) else { return [-1: 1] }
                            var batch = 0
                            while Date() < deadline, batch < 10_000 {
                                batch += 1
                                let events = (0..<50).map { F.event(id: "flood:\(lane):\(batch):\($0)", data: String(repeating: "x", count: 2000)) }
                                socket.send(SlowClientTests.request("POST", "/v1/events", token: F.emeaToken, body: "[" + events.joined(separator: ",") + "]"))
                                guard let answer = await socket.readResponse(within: 10) else { statuses[-1, default: 0] += 1; break }
                                statuses[answer.status, default: 0] += 1
                            }
                            return statuses
                        }
                    }
                    return await lanes.reduce(into: [:]) { total, lane in total.merge(lane, uniquingKeysWith: +) }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            let other = try RawLoopbackSocket(port: port)
            var latencies: [Double] = []
            for index in 0..<20 {
                let started = Date()
                other.send(SlowClientTests.request(
                    "POST", "/v1/events", token: F.apacToken, body: "[" + F.event(id: "quiet:\(index)", agent: F.apac) + "]"))
                let answer = await other.readResponse(within: 10)
                #expect(answer?.status == 200, "batch \(index) of the other agent: \(answer.map { "\($0.status) \($0.body)" } ?? "no answer")")
                latencies.append(Date().timeIntervalSince(started))
                try await Task.sleep(for: .milliseconds(100))
            }
            let statuses = await flood.value
            #expect(statuses[429, default: 0] > 0, "the flooding agent was never throttled: \(statuses)")
            #expect(statuses[200, default: 0] > 0, "the flooding agent got nothing stored: \(statuses)")
            #expect(Set(statuses.keys).isSubset(of: [200, 429]), "\(statuses)")
            // Starved, most of its batches would wait; one slow answer on a loaded machine is not that.
            let sorted = latencies.sorted()
            let p90 = sorted.isEmpty ? .infinity : sorted[sorted.count * 9 / 10 - 1]
            #expect(p90 < 1, "the other agent's batches: \(sorted) s")
            #expect((sorted.last ?? .infinity) < 3, "the other agent's slowest batch took \(sorted.last ?? .infinity) s")
            let stats = try await client.execute(uri: "/v1/stats", method: .get)
            #expect(stats.status == .ok)
        }
    }

    @Test func anAgentOverItsEventRateIsAnswered429WithRetryAfterAndOthersAreNot() async throws {
        var configuration = F.configuration()
        configuration.perAgent.eventsPerSecond = 10
        configuration.perAgent.burstEvents = 20
        try await withHub(InMemoryHubStorage(), configuration: configuration) { client in
            func post(_ ids: Range<Int>, agent: HubAgent, token: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/v1/events", method: .post, headers: F.headers(token: token),
                    body: F.batch(ids.map { F.event(id: "\(agent.id):\($0)", agent: agent) }))
            }
            #expect(try await post(0..<15, agent: F.emea, token: F.emeaToken).status == .ok)
            #expect(try await post(15..<30, agent: F.emea, token: F.emeaToken).status == .ok, "5 events were left: admitted, into debt")
            let throttled = try await post(30..<31, agent: F.emea, token: F.emeaToken)
            #expect(throttled.status == .tooManyRequests)
            let wait = try #require(throttled.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...2).contains(wait))
            #expect(throttled.text.contains("per_agent.events_per_second"))
            #expect(try await post(0..<15, agent: F.apac, token: F.apacToken).status == .ok)
            try await Task.sleep(for: .seconds(Double(wait) + 0.2))
            #expect(try await post(30..<31, agent: F.emea, token: F.emeaToken).status == .ok)
        }
    }
}
