import Testing

@testable import OutpostConfig

@Suite("Loading valid agent configurations")
struct AgentConfigurationLoadingTests {
    @Test("a minimal file gets every default filled in")
    func minimalConfigurationTakesDefaults() throws {
        let config = try ConfigLoader.loadAgent(yaml: Fixtures.minimalAgent, fileName: "minimal.yaml")

        #expect(config.agent == AgentSection(id: "plant-emea-01", region: "emea", dataDir: "/var/lib/outpost"))
        #expect(config.sources.count == 1)
        guard case .fileDrop(let drop) = config.sources.first else {
            Issue.record("expected a file_drop source, got \(config.sources)")
            return
        }
        #expect(drop.name == "sap-outbound")
        #expect(drop.path == "/srv/erp/outbound")
        #expect(drop.include == ["*"])
        #expect(drop.exclude == ["*.tmp", "*.part", ".*"])
        #expect(drop.format == .auto)
        #expect(drop.settle == 2)
        #expect(drop.doneMarker == nil)
        #expect(drop.after == .archive)
        #expect(drop.archiveDir == "/srv/erp/archive")
        #expect(drop.errorDir == "/srv/erp/error")
        #expect(drop.maxFileSize == 256 * 1024 * 1024)
        #expect(drop.rescanInterval == 30)

        #expect(config.hub.type == .http)
        #expect(config.hub.url == "https://hub.example.com/v1/events")
        #expect(config.hub.tokenFile == "/etc/outpost/hub.token")
        #expect(config.hub.batchMaxEvents == 500)
        #expect(config.hub.batchMaxBytes == 4 * 1024 * 1024)
        #expect(config.hub.maxConcurrency == 8)
        #expect(config.hub.retryInitial == 0.5)
        #expect(config.hub.retryMax == 300)
        #expect(config.hub.allowInsecure == false)
        #expect(config.outbox == OutboxConfiguration())
        #expect(config.admin.listen == "127.0.0.1:9464")
        #expect(config.logging == LoggingConfiguration())
    }

    @Test("the SPEC §3 example loads with sizes in bytes and durations in seconds")
    func specExampleLoads() throws {
        let config = try ConfigLoader.loadAgent(yaml: Fixtures.specAgent, fileName: "spec.yaml")

        #expect(config.sources.map(\.name) == ["sap-outbound", "partner-sftp", "erp-queue"])
        guard case .fileDrop(let drop) = config.sources[0], case .sftp(let sftp) = config.sources[1],
            case .amqp(let amqp) = config.sources[2]
        else {
            Issue.record("source types out of order: \(config.sources)")
            return
        }
        #expect(drop.include == ["*.xml"])
        #expect(drop.settle == 2)
        #expect(drop.doneMarker == nil)
        #expect(drop.maxFileSize == 268_435_456)

        #expect(sftp.host == "sftp.example.net")
        #expect(sftp.port == 22)
        #expect(sftp.user == "erp")
        #expect(sftp.privateKeyFile == "/etc/outpost/id_ed25519")
        #expect(sftp.knownHostsFile == "/etc/outpost/known_hosts")
        #expect(sftp.remoteDir == "/outbound")
        #expect(sftp.pollInterval == 10)
        #expect(sftp.format == .idocXML)
        #expect(sftp.after == .move)
        #expect(sftp.remoteArchiveDir == "/outbound/archive")

        #expect(amqp.url == "amqp://127.0.0.1:5672/%2f")
        #expect(amqp.credentialsFile == "/etc/outpost/amqp.cred")
        #expect(amqp.queue == "erp.outbound")
        #expect(amqp.prefetch == 100)
        #expect(amqp.rejectExchange == "erp.rejected")

        #expect(config.hub.batchMaxBytes == 4_194_304)
        #expect(config.hub.retryInitial == 0.5)
        #expect(config.hub.retryMax == 300)
        #expect(config.outbox.highWatermark == 1_073_741_824)
        #expect(config.outbox.lowWatermark == 805_306_368)
        #expect(config.outbox.minFreeDisk == 2_147_483_648)
        #expect(config.outbox.retainDelivered == 86_400)
        #expect(config.admin.listen == "127.0.0.1:9464")
    }

    @Test("optional keys beyond SPEC are read")
    func optionalKeysAreRead() throws {
        let yaml = """
            agent: {id: a.b_c-1, region: "no", data_dir: /var/lib/outpost}
            sources:
              - name: drop
                type: file_drop
                path: /srv/in/
                after: delete
                error_dir: /srv/in/error
                done_marker: .done
                rescan_interval: 1.5s
              - name: sftp
                type: sftp
                host: 127.0.0.1
                user: erp
                password_file: /etc/outpost/sftp.pw
                host_key_fingerprint: SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s
                remote_dir: in
                recursive: true
                after: delete
                remote_error_dir: in/error
            hub:
              type: amqp
              url: amqps://hub.example.com:5671/%2f
              exchange: outpost.events
              credentials_file: /etc/outpost/hub.cred
              request_timeout: 2m
              ca_file: /etc/outpost/ca.pem
              client_cert_file: /etc/outpost/client.pem
              client_key_file: /etc/outpost/client.key
            outbox:
              high_watermark: 100MiB
            admin:
              listen: null
            logging: {level: debug, format: json}
            """
        let config = try ConfigLoader.loadAgent(yaml: yaml, fileName: "extras.yaml")

        #expect(config.agent.region == "no", "a plain `no` is text here, not a YAML boolean")
        guard case .fileDrop(let drop) = config.sources[0], case .sftp(let sftp) = config.sources[1] else {
            Issue.record("unexpected sources \(config.sources)")
            return
        }
        #expect(drop.after == .delete)
        #expect(drop.archiveDir == nil)
        #expect(drop.doneMarker == ".done")
        #expect(drop.rescanInterval == 1.5)
        #expect(sftp.passwordFile == "/etc/outpost/sftp.pw")
        #expect(sftp.hostKeyFingerprint == "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s")
        #expect(sftp.recursive)
        #expect(sftp.after == .delete)
        #expect(sftp.remoteErrorDir == "in/error")
        #expect(config.hub.type == .amqp)
        #expect(config.hub.exchange == "outpost.events")
        #expect(config.hub.routingKey == "{type}.{region}")
        #expect(config.hub.tokenFile == nil)
        #expect(config.hub.requestTimeout == 120)
        #expect(config.hub.clientKeyFile == "/etc/outpost/client.key")
        #expect(config.outbox.highWatermark == 100 << 20)
        #expect(config.outbox.lowWatermark == 75 << 20, "low watermark defaults to 3/4 of the high one")
        #expect(config.admin.listen == nil)
        #expect(config.logging.level == .debug)
        #expect(config.logging.format == .json)
    }

    @Test(
        "plain http is accepted to this machine",
        arguments: [
            "http://127.0.0.1:8080/v1/events", "http://127.1.2.3/v1/events", "http://localhost:8080/v1/events",
            "http://[::1]:8080/v1/events", "HTTP://LOCALHOST/v1/events",
        ])
    func loopbackHTTPIsAllowed(url: String) throws {
        let yaml = Fixtures.agent(hub: "  url: \(url)\n  token_file: /etc/outpost/hub.token\n")
        let config = try ConfigLoader.loadAgent(yaml: yaml, fileName: "loopback.yaml")
        #expect(config.hub.url == url)
    }

    @Test("plain http to another machine needs allow_insecure")
    func insecureHTTPNeedsOptIn() throws {
        let hub = "  url: http://hub.example.com/v1/events\n  token_file: /etc/outpost/hub.token\n"

        let problems = Fixtures.agentProblems(Fixtures.agent(hub: hub))
        #expect(problems.map(\.keyPath) == ["hub.url"])
        #expect(problems.first?.message.contains("unencrypted") == true)
        #expect(problems.first?.fix.contains("allow_insecure: true") == true)

        let allowed = try ConfigLoader.loadAgent(
            yaml: Fixtures.agent(hub: hub + "  allow_insecure: true\n"), fileName: "insecure.yaml")
        #expect(allowed.hub.allowInsecure)
        #expect(allowed.hub.url == "http://hub.example.com/v1/events")
    }

    @Test("hub.url takes a list of a hub's replicas; each is checked, none twice, one URL for a broker")
    func hubReplicaURLs() throws {
        let list = "  url: [https://hub-a.example.com/v1/events, https://hub-b.example.com/v1/events]\n  token_file: /etc/outpost/hub.token\n"
        let config = try ConfigLoader.loadAgent(yaml: Fixtures.agent(hub: list), fileName: "replicas.yaml")
        #expect(config.hub.urls == ["https://hub-a.example.com/v1/events", "https://hub-b.example.com/v1/events"])
        #expect(config.hub.url == "https://hub-a.example.com/v1/events")
        for bad in [
            "[https://hub-a.example.com/v1/events, http://hub-b.example.com/v1/events]",  // plaintext to another machine
            "[https://hub-a.example.com/v1/events, https://hub-a.example.com/v1/events]",  // twice
            "[https://hub-a.example.com/v1/events, ftp://hub-b.example.com/]",
            "[]",
        ] {
            let problems = Fixtures.agentProblems(Fixtures.agent(hub: "  url: \(bad)\n  token_file: /etc/outpost/hub.token\n"))
            #expect(problems.map(\.keyPath) == ["hub.url"], "\(bad)")
        }
        let broker = "  type: amqp\n  url: [amqps://a.example.com/%2f, amqps://b.example.com/%2f]\n  exchange: x\n"
        #expect(Fixtures.agentProblems(Fixtures.agent(hub: broker)).map(\.keyPath).contains("hub.url"))
    }

    @Test("a host that only looks like loopback is not loopback")
    func lookalikeLoopbackIsRefused() {
        for host in ["127.0.0.1.example.com", "localhost.example.com", "128.0.0.1"] {
            let hub = "  url: http://\(host)/v1/events\n  token_file: /etc/outpost/hub.token\n"
            #expect(Fixtures.agentProblems(Fixtures.agent(hub: hub)).map(\.keyPath) == ["hub.url"], "\(host)")
        }
    }
}
