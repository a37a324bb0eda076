import Foundation
import Testing

@testable import OutpostConfig

/// `hub.compression`, `hub.mode`, `hub.proxy` and `hub.proxy_credentials_file`: defaults,
/// accepted values and the problems reported for the others.
@Suite("Hub wire settings")
struct HubWireSettingsTests {
    static func hub(_ extra: String) -> String {
        Fixtures.agent(hub: """
              url: https://hub.example.com/v1/events
              token_file: /etc/outpost/hub.token
            \(extra)
            """)
    }

    @Test("compression is gzip by default; zstd and none are accepted")
    func compressionValues() throws {
        #expect(try ConfigLoader.loadAgent(yaml: Fixtures.minimalAgent, fileName: "t").hub.compression == .gzip)
        for value in HubSinkConfiguration.Compression.allCases {
            let config = try ConfigLoader.loadAgent(yaml: Self.hub("  compression: \(value.rawValue)"), fileName: "t")
            #expect(config.hub.compression == value)
        }
    }

    @Test("an unknown compression is reported with the accepted values")
    func unknownCompression() throws {
        let problems = Fixtures.agentProblems(Self.hub("  compression: brotli"))
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.keyPath == "hub.compression")
        #expect(problem.message == "'brotli' is not a valid compression")
        #expect(problem.fix == "use one of: gzip, zstd, none")
    }

    @Test("compression belongs to http hubs only")
    func compressionOnAMQP() throws {
        let problems = Fixtures.agentProblems(Fixtures.agent(hub: """
              type: amqp
              url: amqps://broker.example.com:5671/%2f
              exchange: outpost.events
              compression: gzip
            """))
        #expect(problems.map(\.keyPath) == ["hub.compression"])
    }

    @Test("proxy: absent means the environment, none ignores it, an http:// URL wins over it")
    func proxyValues() throws {
        #expect(try ConfigLoader.loadAgent(yaml: Fixtures.minimalAgent, fileName: "t").hub.proxy == .environment)
        #expect(try ConfigLoader.loadAgent(yaml: Self.hub("  proxy: none"), fileName: "t").hub.proxy == .none)
        let configured = try ConfigLoader.loadAgent(
            yaml: Self.hub("  proxy: http://proxy.example.com:3128\n  proxy_credentials_file: /etc/outpost/proxy.cred"), fileName: "t")
        #expect(configured.hub.proxy == .url("http://proxy.example.com:3128"))
        #expect(configured.hub.proxyCredentialsFile == "/etc/outpost/proxy.cred")
    }

    @Test("a proxy that is not http://, or holds credentials, is reported", arguments: [
        ("https://proxy.example.com:3128", "is not an http:// proxy URL"),
        ("socks5://127.0.0.1:1080", "is not an http:// proxy URL"),
        ("proxy.example.com:3128", "is not an http:// proxy URL"),
        ("http://user:secret@proxy.example.com:3128", "holds credentials"),
    ])
    func badProxy(_ value: String, _ message: String) throws {
        let problems = Fixtures.agentProblems(Self.hub("  proxy: \(value)"))
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.keyPath == "hub.proxy")
        #expect(problem.message.contains(message), "\(problem.message)")
        #expect(!problem.message.contains("secret"))
    }

    @Test("proxy credentials with proxy: none, or a relative credentials path, are reported")
    func credentialsWithoutProxy() {
        #expect(Fixtures.agentProblems(Self.hub("  proxy: none\n  proxy_credentials_file: /etc/outpost/proxy.cred")).map(\.keyPath)
            == ["hub.proxy_credentials_file"])
        #expect(Fixtures.agentProblems(Self.hub("  proxy_credentials_file: proxy.cred")).map(\.keyPath) == ["hub.proxy_credentials_file"])
    }

    @Test("a proxy credentials file readable by others is reported by the environment check")
    func looseCredentialsFile() throws {
        let path = NSTemporaryDirectory() + "proxy-\(UUID().uuidString).cred"
        try "outpost:s3cret\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, 0o644)
        let config = try ConfigLoader.loadAgent(yaml: Self.hub("  proxy_credentials_file: \(path)"), fileName: "t")
        let loose = ConfigLoader.checkEnvironment(config).filter { $0.keyPath == "hub.proxy_credentials_file" }
        #expect(loose.count == 1)
        #expect(loose.first?.fix == "chmod 600 \(path)")
        chmod(path, 0o600)
        #expect(ConfigLoader.checkEnvironment(config).filter { $0.keyPath == "hub.proxy_credentials_file" }.isEmpty)
    }

    @Test("mode is batch by default; structured and binary need no token and default to no compression")
    func modeValues() throws {
        #expect(try ConfigLoader.loadAgent(yaml: Fixtures.minimalAgent, fileName: "t").hub.mode == .batch)
        for mode in [HubSinkConfiguration.Mode.structured, .binary] {
            let config = try ConfigLoader.loadAgent(
                yaml: Fixtures.agent(hub: "  url: https://broker.example.com/default\n  mode: \(mode.rawValue)\n"), fileName: "t")
            #expect(config.hub.mode == mode)
            #expect(config.hub.tokenFile == nil)
            #expect(config.hub.compression == .none)
        }
        let zstd = try ConfigLoader.loadAgent(yaml: Self.hub("  mode: binary\n  compression: zstd"), fileName: "t")
        #expect(zstd.hub.compression == .zstd)
    }

    @Test("an unknown mode is reported with the accepted values; batch mode still needs a token file")
    func unknownMode() throws {
        let problems = Fixtures.agentProblems(Self.hub("  mode: stream"))
        let problem = try #require(problems.first)
        #expect(problems.map(\.keyPath) == ["hub.mode"])
        #expect(problem.message == "'stream' is not a valid mode")
        #expect(problem.fix == "use one of: batch, structured, binary")
        #expect(Fixtures.agentProblems(Fixtures.agent(hub: "  url: https://hub.example.com/v1/events\n")).map(\.keyPath) == ["hub.token_file"])
    }
}
