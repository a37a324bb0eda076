import Testing

@testable import OutpostConfig

@Suite("Problems in agent configurations")
struct AgentConfigurationProblemTests {
    @Test("five different problems are all reported, with key paths and lines")
    func everyProblemIsReported() throws {
        let yaml = """
            agent:
              id: plant emea
              region: emea
              data_dir: var/lib/outpost
            sources:
              - name: drop
                type: file_drop
                path: /srv/in
                archive_dir: /srv/archive
                error_dir: /srv/error
              - name: drop2
                type: file_drop
                path: /srv/in2
                settle: 2 seconds
                archive_dir: /srv/archive
                error_dir: /srv/error
                format: xml
            hub:
              url: https://hub.example.com/v1/events
              token_file: /etc/outpost/hub.token
              max_concurrency: 1000
            """
        let problems = Fixtures.agentProblems(yaml)

        #expect(
            problems.map(\.keyPath) == [
                "agent.id", "agent.data_dir", "sources[1].settle", "sources[1].format", "hub.max_concurrency",
            ])
        #expect(problems.map(\.line) == [2, 4, 14, 17, 21])
        let settle = try #require(problems.first { $0.keyPath == "sources[1].settle" })
        #expect(settle.message == "'2 seconds' is not a duration")
        #expect(settle.fix == "use a number with ms, s, m, h or d (e.g. 2s)")
        let format = try #require(problems.first { $0.keyPath == "sources[1].format" })
        #expect(format.fix == "use one of: auto, idoc-xml, idoc-flat, raw")
        #expect(problems.first { $0.keyPath == "agent.data_dir" }?.message.contains("relative path") == true)
    }

    @Test("the error renders one line per problem, naming file, key, line and fix")
    func errorDescriptionFormat() {
        let error = ConfigError(
            file: "/etc/outpost/outpost.yaml",
            problems: [
                ConfigProblem(keyPath: "sources[1].settle", line: 12, message: "'2 seconds' is not a duration", fix: "use 2s"),
                ConfigProblem(keyPath: "hub.url", message: "missing", fix: "add it"),
            ])
        #expect(
            error.description == """
                /etc/outpost/outpost.yaml: sources[1].settle (line 12): '2 seconds' is not a duration (fix: use 2s)
                /etc/outpost/outpost.yaml: hub.url: missing (fix: add it)
                """)
    }

    @Test("an unknown key is reported with the closest allowed key")
    func unknownKeySuggestsCorrection() {
        let yaml = Fixtures.minimalAgent.replacingOccurrences(of: "data_dir:", with: "data-dir:")
            + "\noutbox:\n  high_watermrk: 2GiB\n  colour: blue\n"
        let problems = Fixtures.agentProblems(yaml)

        let misspelt = problems.first { $0.keyPath == "agent.data-dir" }
        #expect(misspelt?.message == "unknown key 'data-dir'")
        #expect(misspelt?.fix == "did you mean 'data_dir'?")
        #expect(problems.contains { $0.keyPath == "agent.data_dir" && $0.message.contains("missing") })
        #expect(problems.first { $0.keyPath == "outbox.high_watermrk" }?.fix == "did you mean 'high_watermark'?")
        let unrelated = problems.first { $0.keyPath == "outbox.colour" }
        #expect(unrelated?.fix.hasPrefix("remove it; allowed here: high_watermark, low_watermark") == true)
    }

    @Test("a key of another source type says which type it belongs to")
    func keyOfAnotherSourceType() {
        let yaml = Fixtures.minimalAgent.replacingOccurrences(
            of: "    path: /srv/erp/outbound\n", with: "    path: /srv/erp/outbound\n    host: sftp.example.net\n")
        let problems = Fixtures.agentProblems(yaml)
        #expect(problems.map(\.keyPath) == ["sources[0].host"])
        #expect(problems.first?.message == "unknown key 'host': it applies only to `type: sftp`")
    }

    @Test("missing required keys and sections are each named")
    func missingRequiredKeys() {
        let problems = Fixtures.agentProblems(
            """
            agent:
              region: emea
            sources:
              - type: sftp
                host: sftp.example.net
            """)
        #expect(
            Set(problems.map(\.keyPath)) == [
                "agent.id", "agent.data_dir", "sources[0].name", "sources[0].user", "sources[0].remote_dir",
                "sources[0].private_key_file", "sources[0].known_hosts_file", "sources[0].remote_archive_dir", "hub",
            ])
        #expect(problems.allSatisfy { $0.message.contains("missing required key") })
    }

    @Test("duplicate source names and names unusable in a URI")
    func sourceNames() {
        let source = """
              - name: sap-outbound
                type: file_drop
                path: /srv/other
                after: delete
                error_dir: /srv/other-error
              - name: "sap/outbound"
                type: amqp
                url: amqp://127.0.0.1/%2f
                queue: q
            """
        let yaml = Fixtures.minimalAgent.replacingOccurrences(of: "hub:\n", with: source + "\nhub:\n")
        let problems = Fixtures.agentProblems(yaml)
        #expect(problems.map(\.keyPath) == ["sources[1].name", "sources[2].name"])
        #expect(problems[0].message == "source name 'sap-outbound' is already used by sources[0]")
        #expect(problems[1].fix.contains("letters, digits, '.', '_' and '-'"))
    }

    @Test("after: archive needs archive_dir, and neither archive nor error dir may be the drop path")
    func fileDropDirectories() {
        let noArchive = Fixtures.minimalAgent.replacingOccurrences(of: "    archive_dir: /srv/erp/archive\n", with: "")
        #expect(Fixtures.agentProblems(noArchive).map(\.keyPath) == ["sources[0].archive_dir"])

        let samePath = Fixtures.minimalAgent
            .replacingOccurrences(of: "archive_dir: /srv/erp/archive", with: "archive_dir: /srv/erp/outbound/")
            .replacingOccurrences(of: "error_dir: /srv/erp/error", with: "error_dir: /srv//erp/./outbound")
        let problems = Fixtures.agentProblems(samePath)
        #expect(problems.map(\.keyPath) == ["sources[0].archive_dir", "sources[0].error_dir"])

        let subdirectories = Fixtures.minimalAgent
            .replacingOccurrences(of: "archive_dir: /srv/erp/archive", with: "archive_dir: /srv/erp/outbound/archive")
        #expect(throws: Never.self) { try ConfigLoader.loadAgent(yaml: subdirectories, fileName: "sub.yaml") }
    }

    @Test("cross-key rules: watermarks, retry delays, sftp credentials and fingerprint")
    func crossKeyRules() {
        let yaml = """
            agent: {id: a, region: r, data_dir: /d}
            sources:
              - name: s
                type: sftp
                host: h
                user: u
                remote_dir: /in
                after: delete
                passphrase_file: /etc/p
                password_file: /etc/pw
                host_key_fingerprint: "MD5:aa:bb"
                port: 70000
            hub:
              url: https://hub/v1/events
              token_file: /t
              retry_initial: 10m
              retry_max: 1m
              client_cert_file: /c
            outbox:
              high_watermark: 1GiB
              low_watermark: 1GiB
            """
        let problems = Fixtures.agentProblems(yaml)
        #expect(
            Set(problems.map(\.keyPath)) == [
                "sources[0].passphrase_file", "sources[0].host_key_fingerprint", "sources[0].port",
                "hub.retry_initial", "hub.client_key_file", "outbox.low_watermark",
            ])
    }

    @Test("hub type amqp needs an amqp URL and an exchange; http keys are refused there")
    func amqpHub() {
        let hub = "  type: amqp\n  url: https://hub.example.com/\n  token_file: /etc/outpost/hub.token\n"
        let problems = Fixtures.agentProblems(Fixtures.agent(hub: hub))
        #expect(Set(problems.map(\.keyPath)) == ["hub.url", "hub.exchange", "hub.token_file"])
        #expect(problems.first { $0.keyPath == "hub.token_file" }?.message.contains("`type: http`") == true)
    }

    @Test("values of the wrong type name the key and what was expected")
    func wrongTypes() {
        let hub = """
              url: {host: hub.example.com}
              token_file: /etc/outpost/hub.token
              batch_max_events: "many"
              allow_insecure: maybe
              max_concurrency: 0
              batch_max_bytes:
            """
        let problems = Fixtures.agentProblems(Fixtures.agent(hub: hub))
        #expect(
            problems.map(\.keyPath) == [
                "hub.url", "hub.batch_max_events", "hub.allow_insecure", "hub.max_concurrency", "hub.batch_max_bytes",
            ])
        #expect(problems[0].message.hasPrefix("expected a single value, found a"))
        #expect(problems[1].message == "'many' is not a whole number")
        #expect(problems[2].message == "'maybe' is not true or false")
        #expect(problems[3].message == "0 is out of range")
        #expect(problems[4].message == "'batch_max_bytes' has no value")
    }

    @Test("an unquoted IPv6 listen address gets a hint to quote it")
    func unquotedIPv6Listen() {
        let yaml = Fixtures.minimalAgent + "\nadmin:\n  listen: [::1]:9464\n"
        let problems = Fixtures.agentProblems(yaml)
        // `[::1]:9464` is not even valid YAML flow syntax, or reads as a list: either way one problem.
        #expect(problems.count == 1)
        let quoted = Fixtures.minimalAgent + "\nadmin:\n  listen: \"[::1]:9464\"\n"
        #expect((try? ConfigLoader.loadAgent(yaml: quoted, fileName: "v6.yaml"))?.admin.listen == "[::1]:9464")
    }

    @Test("empty files, YAML syntax errors and non-mapping files give one clear problem")
    func fileLevelProblems() {
        let empty = Fixtures.agentProblems("# only a comment\n")
        #expect(empty.map(\.message) == ["the file is empty"])

        let syntax = Fixtures.agentProblems("agent:\n  id: a\n region: b\n   data_dir: [\n")
        #expect(syntax.count == 1)
        #expect(syntax.first?.line == 3)
        #expect(syntax.first?.message.hasPrefix("not valid YAML") == true)

        let list = Fixtures.agentProblems("- agent\n- hub\n")
        #expect(list.count == 1)
        #expect(list.first?.message == "expected a mapping (indented `key: value` lines), found a list")

        let duplicate = Fixtures.agentProblems(Fixtures.minimalAgent + "\nagent:\n  id: b\n")
        #expect(duplicate.count == 1)
        #expect(duplicate.first?.message.contains("'agent' appears twice") == true)
    }

    @Test("a missing file is one problem naming the file")
    func missingFile() {
        #expect {
            try ConfigLoader.loadAgent(path: "/nonexistent/outpost.yaml")
        } throws: { error in
            let error = error as? ConfigError
            return error?.file == "/nonexistent/outpost.yaml" && error?.problems.map(\.message) == ["the file does not exist"]
        }
    }
}
