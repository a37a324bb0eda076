import Testing

@testable import OutpostConfig

@Suite("Hub configuration")
struct HubConfigurationTests {
    @Test("a full hub file loads")
    func fullHubFile() throws {
        let config = try ConfigLoader.loadHub(yaml: Fixtures.hub, fileName: "hub.yaml")
        #expect(config.listenHost == "0.0.0.0")
        #expect(config.listenPort == 8443)
        #expect(config.storage == .postgres(PostgresStorage(url: "postgres://outpost@db.example.com/hub")))
        #expect(config.maxBatchBytes == 8 << 20)
        #expect(config.maxConcurrentBatches == 4)
        #expect(config.readTokenSHA256 == String(repeating: "ab", count: 32))
        #expect(
            config.agents == [
                HubAgent(id: "plant-emea-01", region: "emea", tokenSHA256: String(repeating: "0", count: 64)),
                HubAgent(id: "plant-apac-01", region: "apac", tokenSHA256: String(repeating: "1", count: 64)),
            ])
    }

    @Test("defaults: loopback listener, SQLite storage, no read token")
    func hubDefaults() throws {
        let yaml = """
            agents:
              - {id: a, region: r, token_sha256: \(String(repeating: "F", count: 64))}
            """
        let config = try ConfigLoader.loadHub(yaml: yaml, fileName: "hub.yaml")
        #expect(config.listenHost == "127.0.0.1")
        #expect(config.listenPort == 8080)
        #expect(config.storage == .sqlite(path: "/var/lib/outpost-hub/hub.sqlite"))
        #expect(config.maxBatchBytes == 16 << 20)
        #expect(config.maxConcurrentBatches == 16)
        #expect(config.readTokenSHA256 == nil)
        #expect(config.headerTimeout == 10)
        #expect(config.minBodyRate == 1024)
        #expect(config.idleTimeout == 75)
        #expect(config.maxHeaderBytes == 16 << 10)
        #expect(config.maxConnections == 4096)
        #expect(config.agents.first?.tokenSHA256 == String(repeating: "f", count: 64), "hex is stored lowercase")
    }

    @Test("an IPv6 listen address", arguments: [("\"[::1]:9000\"", "::1", 9000), ("localhost:80", "localhost", 80)])
    func listenAddresses(listen: String, host: String, port: Int) throws {
        let yaml = "listen: \(listen)\n" + Fixtures.hub.components(separatedBy: "\n").dropFirst().joined(separator: "\n")
        let config = try ConfigLoader.loadHub(yaml: yaml, fileName: "hub.yaml")
        #expect(config.listenHost == host)
        #expect(config.listenPort == port)
    }

    @Test("every problem in a bad hub file is reported")
    func badHubFile() {
        let yaml = """
            listen: 8080
            storage:
              sqlite: hub.sqlite
              postgres: postgres://db/hub
            max_batch_bytes: 16MB
            max_concurent_batches: 2
            read_token_sha256: 9f86d081
            agents:
              - id: plant-emea-01
                region: emea
                token_sha256: \(String(repeating: "0", count: 64))
              - id: plant-emea-01
                region: e mea
                token_sha256: \(String(repeating: "0", count: 64))
            """
        let problems = Fixtures.hubProblems(yaml)
        #expect(
            problems.map(\.keyPath) == [
                "listen", "storage.postgres", "max_batch_bytes", "max_concurent_batches", "read_token_sha256",
                "agents[1].id", "agents[1].region", "agents[1].token_sha256",
            ])
        #expect(problems.first { $0.keyPath == "max_concurent_batches" }?.fix == "did you mean 'max_concurrent_batches'?")
    }

    @Test("connection limits: header and idle timeouts, body rate, header size, connection cap")
    func connectionLimits() throws {
        let agents = "agents:\n  - {id: a, region: r, token_sha256: \(String(repeating: "f", count: 64))}\n"
        let config = try ConfigLoader.loadHub(
            yaml: "header_timeout: 3s\nmin_body_rate: 64KiB/s\nidle_timeout: 2m\nmax_header_bytes: 8KiB\nmax_connections: 20000\n" + agents,
            fileName: "hub.yaml")
        #expect(config.headerTimeout == 3)
        #expect(config.minBodyRate == 64 << 10)
        #expect(config.idleTimeout == 120)
        #expect(config.maxHeaderBytes == 8 << 10)
        #expect(config.maxConnections == 20000)
        let problems = Fixtures.hubProblems(
            "header_timeout: 0s\nmin_body_rate: 1KiB\nidle_timeout: 10\nmax_header_bytes: 2MiB\nmax_connections: 0\n" + agents)
        #expect(problems.map(\.keyPath) == ["header_timeout", "min_body_rate", "idle_timeout", "max_header_bytes", "max_connections"])
        #expect(problems.first { $0.keyPath == "min_body_rate" }?.fix == "write a size per second, e.g. 1KiB/s")
        #expect(Fixtures.hubProblems("max_header_bytes: 100\n" + agents).map(\.keyPath) == ["max_header_bytes"])
    }

    @Test("per_agent: concurrent batches, events per second and burst; defaults never throttle a normal agent")
    func perAgentLimits() throws {
        let agents = "agents:\n  - {id: a, region: r, token_sha256: \(String(repeating: "f", count: 64))}\n"
        let defaults = try ConfigLoader.loadHub(yaml: agents, fileName: "hub.yaml").perAgent
        #expect(defaults.maxConcurrentBatches == 8 && defaults.eventsPerSecond == 5000 && defaults.burstEvents == 50000)
        let config = try ConfigLoader.loadHub(
            yaml: "per_agent: {max_concurrent_batches: 2, events_per_second: 100, burst_events: 1000}\n" + agents, fileName: "hub.yaml")
        #expect(config.perAgent.maxConcurrentBatches == 2)
        #expect(config.perAgent.eventsPerSecond == 100)
        #expect(config.perAgent.burstEvents == 1000)
        let problems = Fixtures.hubProblems("per_agent: {max_concurrent_batches: 0, events_per_second: 1.5, burst: 3}\n" + agents)
        #expect(problems.map(\.keyPath) == ["per_agent.burst", "per_agent.max_concurrent_batches", "per_agent.events_per_second"])
    }

    @Test("tls: certificate and key, optional client CA for mutual TLS")
    func tlsBlock() throws {
        let agents = "\nagents:\n  - {id: a, region: r, token_sha256: \(String(repeating: "0", count: 64))}\n"
        let plain = try ConfigLoader.loadHub(yaml: "listen: 127.0.0.1:8443" + agents, fileName: "hub.yaml")
        #expect(plain.tls == nil)
        let tls = try ConfigLoader.loadHub(
            yaml: "tls: {cert_file: /etc/hub/hub.crt, key_file: /etc/hub/hub.key}" + agents, fileName: "hub.yaml")
        #expect(tls.tls == HubTLSConfiguration(certFile: "/etc/hub/hub.crt", keyFile: "/etc/hub/hub.key"))
        let mutual = try ConfigLoader.loadHub(
            yaml: "tls: {cert_file: /c.pem, key_file: /k.pem, client_ca_file: /ca.pem}" + agents, fileName: "hub.yaml")
        #expect(mutual.tls?.clientCAFile == "/ca.pem")
        #expect(Fixtures.hubProblems("tls: {cert_file: /c.pem}" + agents).map(\.keyPath) == ["tls.key_file"])
        #expect(
            Fixtures.hubProblems("tls: {cert_file: c.pem, key_file: /k.pem, client_ca: /ca.pem}" + agents).map(\.keyPath)
                == ["tls.client_ca", "tls.cert_file"])
    }

    @Test("postgres storage keys: pool, timeout, TLS, retention, durability; refused under sqlite")
    func postgresKeys() throws {
        let agents = "\nagents:\n  - {id: a, region: r, token_sha256: \(String(repeating: "0", count: 64))}\n"
        let yaml = """
            storage:
              postgres: postgres://outpost@db.example.com:5433/hub
              password_file: /etc/outpost-hub/pg.password
              pool_size: 12
              statement_timeout: 5s
              sslmode: verify-full
              ca_file: /etc/outpost-hub/pg-ca.pem
              retention: 400d
              allow_unsafe_durability: true
            """
        let config = try ConfigLoader.loadHub(yaml: yaml + agents, fileName: "hub.yaml")
        var expected = PostgresStorage(url: "postgres://outpost@db.example.com:5433/hub")
        expected.passwordFile = "/etc/outpost-hub/pg.password"
        expected.poolSize = 12
        expected.statementTimeout = 5
        expected.sslMode = .verifyFull
        expected.caFile = "/etc/outpost-hub/pg-ca.pem"
        expected.retentionDays = 400
        expected.allowUnsafeDurability = true
        #expect(config.storage == .postgres(expected))
        let problems = Fixtures.hubProblems("""
            storage:
              postgres: postgres://outpost@db/hub
              pool_size: 0
              sslmode: always
              retention: 2h
            """ + agents)
        #expect(problems.map(\.keyPath) == ["storage.pool_size", "storage.sslmode", "storage.retention"])
        #expect(Fixtures.hubProblems("storage: {sqlite: /var/hub.sqlite, pool_size: 4}" + agents).map(\.keyPath) == ["storage.pool_size"])
    }

    @Test("client_cert_subject binds an agent to its mutual-TLS certificate, and needs client_ca_file")
    func clientCertificateSubject() throws {
        let agent = "agents:\n  - {id: a, region: r, token_sha256: \(String(repeating: "0", count: 64)), client_cert_subject: \"CN=a,O=Acme\"}\n"
        let mutual = try ConfigLoader.loadHub(
            yaml: "tls: {cert_file: /c.pem, key_file: /k.pem, client_ca_file: /ca.pem}\n" + agent, fileName: "hub.yaml")
        #expect(mutual.agents.first?.clientCertSubject == "CN=a,O=Acme")
        #expect(Fixtures.hubProblems("tls: {cert_file: /c.pem, key_file: /k.pem}\n" + agent).map(\.keyPath) == ["agents"])
        #expect(Fixtures.hubProblems(agent).map(\.keyPath) == ["agents"])
    }

    @Test("reads need the token unless read_access is open; open with a token is a contradiction")
    func readAccess() throws {
        let agents = "\nagents:\n  - {id: a, region: r, token_sha256: \(String(repeating: "0", count: 64))}\n"
        #expect(try ConfigLoader.loadHub(yaml: "listen: 127.0.0.1:1" + agents, fileName: "h.yaml").readAccess == .token)
        #expect(try ConfigLoader.loadHub(yaml: "read_access: open" + agents, fileName: "h.yaml").readAccess == .open)
        #expect(Fixtures.hubProblems("read_access: public" + agents).map(\.keyPath) == ["read_access"])
        #expect(
            Fixtures.hubProblems("read_access: open\nread_token_sha256: \(String(repeating: "ab", count: 32))" + agents)
                .map(\.keyPath) == ["read_access"])
    }

    @Test("the environment check names unreadable TLS files")
    func tlsFilesChecked() throws {
        var config = HubConfiguration(storage: .sqlite(path: "/tmp/hub.sqlite"), agents: [])
        config.tls = HubTLSConfiguration(certFile: "/nonexistent/hub.crt", keyFile: "/nonexistent/hub.key")
        #expect(ConfigLoader.checkEnvironment(config).map(\.keyPath) == ["tls.cert_file", "tls.key_file"])
    }

    @Test("storage needs exactly one backend, with an absolute SQLite path or a postgres URL")
    func storageRules() {
        let agents = "\nagents:\n  - {id: a, region: r, token_sha256: \(String(repeating: "0", count: 64))}\n"
        #expect(Fixtures.hubProblems("storage: {}" + agents).map(\.keyPath) == ["storage.sqlite"])
        #expect(Fixtures.hubProblems("storage: {sqlite: hub.db}" + agents).map(\.keyPath) == ["storage.sqlite"])
        #expect(Fixtures.hubProblems("storage: {postgres: mysql://db/x}" + agents).map(\.keyPath) == ["storage.postgres"])
        #expect(Fixtures.hubProblems("storage: {redis: x}" + agents).map(\.keyPath) == ["storage.redis", "storage.sqlite"])
    }

    @Test("a hub without agents is refused")
    func agentsRequired() {
        #expect(Fixtures.hubProblems("listen: 127.0.0.1:8080\n").map(\.keyPath) == ["agents"])
        #expect(Fixtures.hubProblems("agents: []\n").map(\.keyPath) == ["agents"])
    }
}
