import Yams

/// The reference hub's file (every key in deploy/examples/outpost-hub.yaml).
extension ConfigLoader {
    static let hubKeys = ["listen", "storage", "max_batch_bytes", "max_concurrent_batches", "read_token_sha256", "read_access", "agents", "tls",
        "header_timeout", "min_body_rate", "idle_timeout", "max_header_bytes", "max_connections", "per_agent", "mapping"]
    static let defaultHubDatabase = "/var/lib/outpost-hub/hub.sqlite"

    /// Reads the whole hub file; placeholders stand in for invalid values (the log then holds a
    /// problem, and the caller throws instead of returning the result).
    static func hubConfiguration(_ root: Node, log: ProblemLog) -> HubConfiguration {
        var config = HubConfiguration(storage: .sqlite(path: defaultHubDatabase), agents: [])
        guard let top = MappingReader.open(root, at: "", log: log, allowedKeys: hubKeys) else { return config }
        if let address = top.listenAddress("listen", example: "127.0.0.1:8080") {
            config.listenHost = address.host
            config.listenPort = address.port
        }
        if let storage = storage(top) { config.storage = storage }
        if let value = top.size("max_batch_bytes", minimum: 1) { config.maxBatchBytes = Int(value) }
        if let value = top.int("max_concurrent_batches", in: 1...4096) { config.maxConcurrentBatches = value }
        if let value = top.duration("header_timeout", positive: true) { config.headerTimeout = value }
        if let value = top.rate("min_body_rate", minimum: 1) { config.minBodyRate = Int(value) }
        if let value = top.duration("idle_timeout", positive: true) { config.idleTimeout = value }
        if let value = top.size("max_header_bytes", minimum: 1024) {
            if value > 1 << 20 {
                top.report("max_header_bytes", "'\(value)' bytes of headers is more than 1MiB", fix: "use at most 1MiB (agents send under 1KiB)")
            } else {
                config.maxHeaderBytes = Int(value)
            }
        }
        if let value = top.int("max_connections", in: 1...1_000_000) { config.maxConnections = value }
        if let limits = perAgent(top) { config.perAgent = limits }
        if let mapping = mappingSettings(top) { config.mapping = mapping }
        config.readTokenSHA256 = top.sha256Hex("read_token_sha256", nullable: true)
        if top.has("read_access"), let access = top.choice("read_access", as: HubConfiguration.ReadAccess.self) {
            config.readAccess = access
            if access == .open, config.readTokenSHA256 != nil {
                top.report(
                    "read_access", "read_access is open, so read_token_sha256 would never be asked for",
                    fix: "remove read_access to require the read token, or remove read_token_sha256")
            }
        }
        config.agents = agents(top)
        config.tls = tls(top)
        if config.tls?.clientCAFile == nil, let bound = config.agents.firstIndex(where: { $0.clientCertSubject != nil }) {
            top.report(
                "agents", "agents[\(bound)] has a client_cert_subject, but the hub asks for no client certificates",
                fix: "set tls.client_ca_file (mutual TLS), or remove client_cert_subject")
        }
        return config
    }

    /// `storage:` holds exactly one of `sqlite: PATH` or `postgres: URL`.
    private static func storage(_ top: MappingReader) -> HubConfiguration.Storage? {
        guard let r = top.mapping("storage", allowedKeys: ["sqlite", "postgres"] + postgresKeys) else { return nil }
        if r.value("sqlite") != nil {
            for key in postgresKeys where r.value(key) != nil {
                r.report(key, "\(key) applies to postgres storage only", fix: "remove it, or store in postgres")
            }
        }
        switch (r.value("sqlite") != nil, r.value("postgres") != nil) {
        case (true, false):
            return r.absolutePath("sqlite", required: defaultHubDatabase).map { .sqlite(path: $0) }
        case (false, true):
            return postgres(r).map { .postgres($0) }
        case (true, true):
            r.report("postgres", "storage has both sqlite and postgres", fix: "keep exactly one of them")
            return nil
        case (false, false):
            r.reportMissing("sqlite", fix: "add `sqlite: \(defaultHubDatabase)` or `postgres: postgres://…` under storage")
            return nil
        }
    }

    static let postgresKeys = [
        "password_file", "pool_size", "statement_timeout", "sslmode", "ca_file", "retention", "allow_unsafe_durability",
    ]

    /// The PostgreSQL keys of `storage:`.
    private static func postgres(_ r: MappingReader) -> PostgresStorage? {
        guard let url = r.url("postgres", schemes: ["postgres", "postgresql"], required: "postgres://outpost@db.example.com/hub")
        else { return nil }
        var storage = PostgresStorage(url: url.text)
        storage.passwordFile = r.absolutePath("password_file")
        if let size = r.int("pool_size", in: 1...1000) { storage.poolSize = size }
        if let timeout = r.duration("statement_timeout", positive: true) { storage.statementTimeout = timeout }
        if r.has("sslmode") { storage.sslMode = r.choice("sslmode", as: PostgresStorage.SSLMode.self) }
        storage.caFile = r.absolutePath("ca_file")
        if r.has("retention"), let retention = r.duration("retention", positive: true) {
            if retention < 86_400 {
                r.report("retention", "retention is shorter than a day", fix: "write days, e.g. 90d, or remove it to keep everything")
            } else {
                storage.retentionDays = Int(retention / 86_400)
            }
        }
        if let allow = r.bool("allow_unsafe_durability") { storage.allowUnsafeDurability = allow }
        return storage
    }

    /// `per_agent:` holds `max_concurrent_batches`, `events_per_second` and `burst_events`, each optional.
    private static func perAgent(_ top: MappingReader) -> HubConfiguration.AgentLimits? {
        guard let r = top.mapping("per_agent", allowedKeys: ["max_concurrent_batches", "events_per_second", "burst_events"])
        else { return nil }
        var limits = HubConfiguration.AgentLimits()
        if let value = r.int("max_concurrent_batches", in: 1...4096) { limits.maxConcurrentBatches = value }
        if let value = r.int("events_per_second", in: 1...10_000_000) { limits.eventsPerSecond = Double(value) }
        if let value = r.int("burst_events", in: 1...100_000_000) { limits.burstEvents = value }
        return limits
    }

    /// `tls:` holds `cert_file` and `key_file` (both required) and an optional `client_ca_file`.
    private static func tls(_ top: MappingReader) -> HubTLSConfiguration? {
        guard let r = top.mapping("tls", allowedKeys: ["cert_file", "key_file", "client_ca_file"]) else { return nil }
        let certFile = r.absolutePath("cert_file", required: "/etc/outpost-hub/tls/hub.crt")
        let keyFile = r.absolutePath("key_file", required: "/etc/outpost-hub/tls/hub.key")
        let clientCAFile = r.absolutePath("client_ca_file")
        guard let certFile, let keyFile else { return nil }
        return HubTLSConfiguration(certFile: certFile, keyFile: keyFile, clientCAFile: clientCAFile)
    }

    /// `agents:`: who may send, and as which region; ids and tokens must be unique.
    private static func agents(_ top: MappingReader) -> [HubAgent] {
        guard let items = top.sequence("agents", requiredFix: "add an `agents:` list with id, region and token_sha256 per agent")
        else { return [] }
        if items.isEmpty {
            top.report("agents", "no agents are configured, so no agent could send", fix: "add at least one agent")
        }
        var agents: [HubAgent] = []
        var indexByID: [String: Int] = [:]
        var indexByToken: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            guard
                let r = MappingReader.open(
                    item, at: "agents[\(index)]", log: top.log, allowedKeys: ["id", "region", "token_sha256", "client_cert_subject"])
            else { continue }
            let id = r.identifier("id", required: "plant-emea-01")
            let region = r.identifier("region", required: "emea")
            let token = r.sha256Hex("token_sha256", required: "<output of sha256sum>")
            if let id {
                if let first = indexByID[id] {
                    r.report("id", "agent id '\(id)' is already listed as agents[\(first)]", fix: "list every agent once")
                } else {
                    indexByID[id] = index
                }
            }
            if let token {
                if let first = indexByToken[token] {
                    r.report(
                        "token_sha256", "agents[\(first)] has the same token, so the hub could not tell them apart",
                        fix: "give every agent its own token")
                } else {
                    indexByToken[token] = index
                }
            }
            let subject = r.string("client_cert_subject")
            agents.append(HubAgent(id: id ?? "", region: region ?? "", tokenSHA256: token ?? "", clientCertSubject: subject))
        }
        return agents
    }
}
