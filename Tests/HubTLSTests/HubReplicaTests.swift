import EventModel
import Foundation
import HTTPSink
import HubServer
import Hummingbird
import HummingbirdTesting
import Logging
import OutpostConfig
import Testing

/// The real HTTP sink given several replicas of a hub (real hubs on loopback sockets): batches
/// spread over the replicas, and a replica that does not answer or answers 5xx is passed over
/// for the next one within the same delivery.
@Suite("Hub replicas")
struct HubReplicaTests {
    static let token = "emea-agent-secret"
    static let agent = HubAgent(id: "plant-emea-01", region: "emea", tokenSHA256: TokenDigest(of: token).hex)

    static var logger: Logger {
        var logger = Logger(label: "hub-replica-test")
        logger.logLevel = .critical
        return logger
    }

    static func application(_ storage: some HubStorage) throws -> some ApplicationProtocol {
        var configuration = HubConfiguration(storage: .sqlite(path: "unused"), agents: [agent])
        configuration.listenPort = 0
        configuration.readAccess = .open
        return try buildHubApplication(configuration: configuration, storage: storage, logger: logger)
    }

    static func event(_ id: String) -> OutboundEvent {
        let json = #"{"specversion":"1.0","id":"\#(id)","source":"outpost://plant-emea-01/sap-outbound","type":"sap.idoc.ORDERS","time":"2026-11-26T10:15:00Z","data":"<ORDERS05/>","agentid":"plant-emea-01","region":"emea"}"#
        return OutboundEvent(sequence: 1, id: id, partitionKey: "k", json: Array(json.utf8))
    }

    @Test("batches spread over two replicas; a dead one and one answering 503 are passed over at once")
    func spreadAndFailOver() async throws {
        let first = InMemoryHubStorage(), second = InMemoryHubStorage(), failing = InMemoryHubStorage()
        await failing.failWrites(with: .unavailable("disk full"))
        let dead = try closedPort()
        try await Self.application(first).test(.live) { one in
            try await Self.application(second).test(.live) { two in
                try await Self.application(failing).test(.live) { broken in
                    let url = { (port: Int?) in "http://127.0.0.1:\(port ?? 0)/v1/events" }
                    // Spread: two healthy replicas share the batches.
                    let spread = try HTTPSink(urls: [url(one.port), url(two.port)], token: Self.token, requestTimeout: 5)
                    for index in 0..<10 {
                        #expect(await spread.deliver([Self.event("s:\(index)")]) == .delivered(rejected: [:]))
                    }
                    await spread.shutdown()
                    let onFirst = await first.statistics(recentRejections: 0).events
                    let onSecond = await second.statistics(recentRejections: 0).events
                    #expect(onFirst + onSecond == 10)
                    #expect(onFirst >= 3 && onSecond >= 3, "first \(onFirst), second \(onSecond)")

                    // Fail over: nothing listening, then 503, then a replica that stores.
                    let sink = try HTTPSink(
                        urls: ["http://127.0.0.1:\(dead)/v1/events", url(broken.port), url(one.port)], token: Self.token,
                        requestTimeout: 5)
                    for index in 0..<6 {
                        let outcome = await sink.deliver([Self.event("f:\(index)")])
                        #expect(outcome == .delivered(rejected: [:]), "batch \(index): \(outcome)")
                        #expect(await first.event(id: "f:\(index)") != nil)
                    }
                    await sink.shutdown()
                    // With one replica only, a failure is the forwarder's to retry, as before.
                    let alone = try HTTPSink(urls: [url(broken.port)], token: Self.token, requestTimeout: 5)
                    #expect(await alone.deliver([Self.event("a:1")]).isRetry)
                    await alone.shutdown()
                }
            }
        }
    }

    /// A loopback port nothing listens on.
    private func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
