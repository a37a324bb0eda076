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
}
