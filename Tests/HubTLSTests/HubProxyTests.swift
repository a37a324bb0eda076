import EventModel
import Foundation
import HTTPSink
import HubServer
import Hummingbird
import HummingbirdTesting
import Logging
import OutpostConfig
import Testing
import TestSupport

/// The real HTTP sink reaching real hubs on loopback sockets through a real proxy (tinyproxy):
/// `hub.proxy` with credentials, `HTTP_PROXY` and `NO_PROXY` from the environment, `CONNECT` for
/// an https hub, and wrong credentials pausing delivery with nothing stored or dropped.
@Suite("Hub through an HTTP proxy", .serialized, .enabled(if: TinyProxy.shouldRun, "tinyproxy is not installed"))
struct HubProxyTests {
    static let token = HubReplicaTests.token

    static func application(_ storage: some HubStorage, tls: HubTLSConfiguration? = nil) throws -> some ApplicationProtocol {
        var configuration = HubConfiguration(storage: .sqlite(path: "unused"), agents: [HubReplicaTests.agent])
        configuration.listenPort = 0
        configuration.readAccess = .open
        configuration.tls = tls
        return try buildHubApplication(configuration: configuration, storage: storage, logger: HubReplicaTests.logger)
    }

    /// Lines of the proxy's log that forwarded a request to `port` (plain or CONNECT).
    static func forwarded(_ proxy: TinyProxy, to port: Int) -> [String] {
        proxy.log().filter { $0.contains("127.0.0.1:\(port)") && ($0.contains("Request (") || $0.contains("CONNECT 127")) }
    }

    @Test("hub.proxy with credentials carries the batches; the proxy's log shows each request")
    func configuredProxy() async throws {
        let proxy = try await TinyProxy(user: "outpost", password: "s3cret")
        defer { Task { await proxy.stop() } }
        let storage = InMemoryHubStorage()
        try await Self.application(storage).test(.live) { client in
            let port = try #require(client.port)
            let sink = try HTTPSink(
                url: "http://127.0.0.1:\(port)/v1/events", token: Self.token, requestTimeout: 10,
                proxy: HTTPSinkProxy(setting: .url("http://127.0.0.1:\(proxy.port)"), credentials: "outpost:s3cret"),
                environment: ["HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "*"])
            for index in 0..<3 {
                #expect(await sink.deliver([HubReplicaTests.event("p:\(index)")]) == .delivered(rejected: [:]))
            }
            await sink.shutdown()
            #expect(await storage.statistics(recentRejections: 0).events == 3)
            // AsyncHTTPClient tunnels through the proxy with CONNECT for http:// hubs too, and the
            // three requests share the keep-alive tunnel.
            #expect(proxy.log().contains { $0.contains("CONNECT 127.0.0.1:\(port)") }, "\(proxy.log())")
        }
    }

    @Test("HTTP_PROXY from the environment is used; NO_PROXY bypasses it")
    func environmentProxy() async throws {
        let proxy = try await TinyProxy(user: "outpost", password: "s3cret")
        defer { Task { await proxy.stop() } }
        let storage = InMemoryHubStorage()
        try await Self.application(storage).test(.live) { client in
            let port = try #require(client.port)
            let url = "http://127.0.0.1:\(port)/v1/events"
            let proxied = try HTTPSink(
                url: url, token: Self.token, requestTimeout: 10, proxy: HTTPSinkProxy(setting: .environment),
                environment: ["http_proxy": "http://outpost:s3cret@127.0.0.1:\(proxy.port)", "NO_PROXY": "example.com"])
            #expect(await proxied.deliver([HubReplicaTests.event("e:1")]) == .delivered(rejected: [:]))
            await proxied.shutdown()
            #expect(Self.forwarded(proxy, to: port).count == 1, "\(proxy.log())")

            let bypassing = try HTTPSink(
                url: url, token: Self.token, requestTimeout: 10, proxy: HTTPSinkProxy(setting: .environment),
                environment: ["HTTP_PROXY": "http://outpost:s3cret@127.0.0.1:\(proxy.port)", "no_proxy": "localhost,127.0.0.1"])
            #expect(await bypassing.deliver([HubReplicaTests.event("e:2")]) == .delivered(rejected: [:]))
            await bypassing.shutdown()
            #expect(Self.forwarded(proxy, to: port).count == 1, "NO_PROXY should bypass the proxy: \(proxy.log())")
            #expect(await storage.statistics(recentRejections: 0).events == 2)
        }
    }

    @Test("an https hub is reached with CONNECT through the proxy, TLS end to end")
    func connectForHTTPS() async throws {
        let proxy = try await TinyProxy(user: "outpost", password: "s3cret")
        defer { Task { await proxy.stop() } }
        let pki = try TestPKI()
        defer { pki.remove() }
        let storage = InMemoryHubStorage()
        let tls = HubTLSConfiguration(certFile: pki.serverCertFile, keyFile: pki.serverKeyFile)
        try await Self.application(storage, tls: tls).test(.ahc(.https)) { client in
            let port = try #require(client.port)
            let sink = try HTTPSink(
                url: "https://127.0.0.1:\(port)/v1/events", token: Self.token, requestTimeout: 10,
                tls: HTTPSinkTLS(caFile: pki.caFile),
                proxy: HTTPSinkProxy(setting: .environment, credentials: "outpost:s3cret"),
                environment: ["HTTPS_PROXY": "127.0.0.1:\(proxy.port)", "HTTP_PROXY": "http://127.0.0.1:9"])
            #expect(await sink.deliver([HubReplicaTests.event("t:1")]) == .delivered(rejected: [:]))
            await sink.shutdown()
            #expect(await storage.event(id: "t:1") != nil)
            #expect(proxy.log().contains { $0.contains("CONNECT 127.0.0.1:\(port)") }, "\(proxy.log())")
        }
    }

    @Test("wrong proxy credentials hold delivery with a reason naming the proxy and the credentials file; nothing is stored or dead-lettered",
          arguments: [false, true])
    func wrongCredentials(https: Bool) async throws {
        let proxy = try await TinyProxy(user: "outpost", password: "s3cret")
        defer { Task { await proxy.stop() } }
        let pki = try TestPKI()
        defer { pki.remove() }
        let storage = InMemoryHubStorage()
        let tls = https ? HubTLSConfiguration(certFile: pki.serverCertFile, keyFile: pki.serverKeyFile) : nil
        try await Self.application(storage, tls: tls).test(https ? .ahc(.https) : .live) { client in
            let port = try #require(client.port)
            let sink = try HTTPSink(
                url: "\(https ? "https" : "http")://127.0.0.1:\(port)/v1/events", token: Self.token, requestTimeout: 10,
                tls: HTTPSinkTLS(caFile: pki.caFile),
                proxy: HTTPSinkProxy(setting: .url("http://127.0.0.1:\(proxy.port)"), credentials: "outpost:wrong"))
            let outcome = await sink.deliver([HubReplicaTests.event("w:1")])
            await sink.shutdown()
            // Held, never delivered or rejected: the forwarder keeps the events in the outbox and tries again.
            let reason: String
            switch outcome {
            case .pause(let why), .retry(_, let why): reason = why
            default:
                Issue.record("wrong proxy credentials should hold delivery (events kept), got \(outcome)")
                return
            }
            #expect(reason.contains("proxy 127.0.0.1:\(proxy.port)"), "\(reason)")
            #expect(reason.contains("proxy_credentials_file"), "\(reason)")
            #expect(proxy.log().contains { $0.contains("CONNECT 127.0.0.1:\(port)") }, "the request reached the proxy: \(proxy.log())")
            #expect(await storage.statistics(recentRejections: 0).events == 0)
        }
    }
}
