import Foundation
import Yams

/// The agent file (every key in deploy/examples/outpost.yaml): top level, `agent`, `hub`, `outbox`, `admin`, `logging`.
/// Sources live in `ConfigLoader+Sources.swift`.
extension ConfigLoader {
    /// Reads the whole agent file; placeholders stand in for invalid values (the log then holds
    /// a problem, and the caller throws instead of returning the result).
    static func agentConfiguration(_ root: Node, log: ProblemLog) -> AgentConfiguration {
        var config = AgentConfiguration(
            agent: AgentSection(id: "", region: "", dataDir: ""), sources: [], hub: HubSinkConfiguration(url: ""))
        guard let top = MappingReader.open(root, at: "", log: log, allowedKeys: AgentKeys.top) else { return config }
        if let agent = top.mapping(
            "agent", allowedKeys: AgentKeys.agent, requiredFix: "add an `agent:` section with id, region and data_dir")
        {
            config.agent = agentSection(agent)
        }
        config.sources = sources(top)
        if let hub = hubMapping(top) { config.hub = hubSink(hub) }
        if let outbox = top.mapping("outbox", allowedKeys: AgentKeys.outbox) { config.outbox = outboxSection(outbox) }
        if let admin = top.mapping("admin", allowedKeys: AgentKeys.admin) { config.admin = adminSection(admin) }
        if let logging = top.mapping("logging", allowedKeys: AgentKeys.logging) {
            config.logging = loggingSection(logging)
        }
        return config
    }

    private static func agentSection(_ r: MappingReader) -> AgentSection {
        AgentSection(
            id: r.identifier("id", required: "plant-emea-01") ?? "",
            region: r.identifier("region", required: "emea") ?? "",
            dataDir: r.absolutePath("data_dir", required: "/var/lib/outpost") ?? "")
    }

    // MARK: hub

    /// Opens `hub:` with the keys its `type` allows (all of them when the type is unusable).
    private static func hubMapping(_ top: MappingReader) -> MappingReader? {
        let requiredFix = "add a `hub:` section with url and token_file"
        guard let node = top.value("hub"), !node.isNull else {
            top.reportMissing("hub", fix: requiredFix)
            return nil
        }
        let typeText = node.mapping?["type"]?.scalar?.string
        let kind = typeText.map(HubSinkConfiguration.Kind.init(rawValue:)) ?? .http
        guard let kind else {
            let all = HubSinkConfiguration.Kind.allCases.flatMap(AgentKeys.hubOnly)
            return top.mapping("hub", allowedKeys: AgentKeys.hubCommon + all)
        }
        return top.mapping(
            "hub", allowedKeys: AgentKeys.hubCommon + AgentKeys.hubOnly(kind),
            misplaced: AgentKeys.misplaced(for: kind, keys: AgentKeys.hubOnly, typeKey: "type"))
    }

    private static func hubSink(_ r: MappingReader) -> HubSinkConfiguration {
        let kind = r.choice("type", as: HubSinkConfiguration.Kind.self)
        let resolvedKind = kind ?? (r.value("type") == nil ? .http : nil)
        var hub = HubSinkConfiguration(url: "")
        hub.type = resolvedKind ?? .http
        if let allowInsecure = r.bool("allow_insecure") { hub.allowInsecure = allowInsecure }
        if let resolvedKind { hub.urls = hubURLs(r, kind: resolvedKind, allowInsecure: hub.allowInsecure) ?? [""] }

        switch resolvedKind {
        case .http:
            if let mode = r.choice("mode", as: HubSinkConfiguration.Mode.self) { hub.mode = mode }
            // The Outpost hub needs a token; another CloudEvents receiver may need none.
            hub.tokenFile = r.absolutePath("token_file", required: hub.mode == .batch ? "/etc/outpost/hub.token" : nil)
            if let compression = r.choice("compression", as: HubSinkConfiguration.Compression.self) {
                hub.compression = compression
            } else if hub.mode != .batch {
                hub.compression = .none  // few CloudEvents receivers accept compressed requests
            }
            hubProxy(r, into: &hub)
        case .amqp:
            hub.credentialsFile = r.absolutePath("credentials_file")
            hub.exchange = r.string("exchange", required: "outpost.events")
            if let routingKey = r.string("routing_key") { hub.routingKey = routingKey }
            if let mode = r.choice("content_mode", as: HubSinkConfiguration.ContentMode.self) { hub.contentMode = mode }
        case nil:
            break
        }
        if let value = r.int("batch_max_events", in: 1...10_000) { hub.batchMaxEvents = value }
        if let value = r.size("batch_max_bytes", minimum: 1) { hub.batchMaxBytes = Int(value) }
        if let value = r.int("max_concurrency", in: 1...256) { hub.maxConcurrency = value }
        if let value = r.duration("request_timeout", positive: true) { hub.requestTimeout = value }
        let retryInitial = r.duration("retry_initial", positive: true)
        let retryMax = r.duration("retry_max", positive: true)
        if let retryInitial { hub.retryInitial = retryInitial }
        if let retryMax { hub.retryMax = retryMax }
        if retryInitial != nil || retryMax != nil, hub.retryInitial > hub.retryMax {
            r.report(
                retryInitial != nil ? "retry_initial" : "retry_max",
                "retry_initial (\(hub.retryInitial)s) is longer than retry_max (\(hub.retryMax)s)",
                fix: "make retry_initial at most retry_max")
        }
        hub.caFile = r.absolutePath("ca_file")
        hub.clientCertFile = r.absolutePath("client_cert_file")
        hub.clientKeyFile = r.absolutePath("client_key_file")
        if r.has("client_cert_file") != r.has("client_key_file") {
            let missing = r.has("client_cert_file") ? "client_key_file" : "client_cert_file"
            r.reportMissing(missing, fix: "client_cert_file and client_key_file go together: add \(missing) or remove the other")
        }
        return hub
    }

    /// `hub.proxy` (none, or an http:// URL without credentials) and `hub.proxy_credentials_file`.
    private static func hubProxy(_ r: MappingReader, into hub: inout HubSinkConfiguration) {
        if let text = r.string("proxy") {
            if text == "none" {
                hub.proxy = .none
            } else if let endpoint = EndpointURL(text), endpoint.scheme == "http" {
                if let parts = URLComponents(string: text), parts.user != nil || parts.password != nil {
                    r.report(
                        "proxy", "the proxy URL holds credentials, which would sit in the configuration file",
                        fix: "remove them from the URL and put user:password in proxy_credentials_file")
                } else {
                    hub.proxy = .url(text)
                }
            } else {
                r.report(
                    "proxy", "'\(text)' is not an http:// proxy URL (https:// hubs are still reached over TLS, through CONNECT)",
                    fix: "write http://proxy.example.com:3128, or none to ignore HTTPS_PROXY and HTTP_PROXY")
            }
        }
        hub.proxyCredentialsFile = r.absolutePath("proxy_credentials_file")
        if hub.proxyCredentialsFile != nil, hub.proxy == .none {
            r.report(
                "proxy_credentials_file", "proxy credentials are set but `proxy: none` sends every request directly",
                fix: "remove proxy_credentials_file, or set proxy")
        }
    }

    /// `hub.url`: one URL, or (for `http`) a list of a hub's replicas; each with the right scheme
    /// for the type, and no plaintext to another machine unless allowed.
    private static func hubURLs(_ r: MappingReader, kind: HubSinkConfiguration.Kind, allowInsecure: Bool) -> [String]? {
        let (schemes, example) =
            switch kind {
            case .http: (["https", "http"], "https://hub.example.com/v1/events")
            case .amqp: (["amqps", "amqp"], "amqps://hub.example.com:5671/%2f")
            }
        guard r.value("url")?.sequence != nil else {
            guard let (text, endpoint) = r.url("url", schemes: schemes, required: example) else { return nil }
            checkPlaintext(r, endpoint, schemes: schemes, allowInsecure: allowInsecure)
            return [text]
        }
        guard kind == .http else {
            r.report("url", "a broker hub takes one URL", fix: "write one amqps:// URL")
            return nil
        }
        guard let texts = r.stringList("url") else { return nil }
        guard !texts.isEmpty else {
            r.report("url", "the list of hub URLs is empty", fix: "write one URL, or a list of the hub's replicas")
            return nil
        }
        var urls: [String] = []
        for (index, text) in texts.enumerated() {
            guard let endpoint = EndpointURL(text), schemes.contains(endpoint.scheme) else {
                r.report("url", "url[\(index)] '\(text)' is not an https:// or http:// URL with a host", fix: "write URLs like \(example)")
                continue
            }
            if urls.contains(text) {
                r.report("url", "url[\(index)] '\(text)' is listed twice", fix: "list each replica once")
                continue
            }
            checkPlaintext(r, endpoint, schemes: schemes, allowInsecure: allowInsecure)
            urls.append(text)
        }
        return urls.count == texts.count ? urls : nil
    }

    private static func checkPlaintext(_ r: MappingReader, _ endpoint: EndpointURL, schemes: [String], allowInsecure: Bool) {
        if endpoint.scheme == schemes[1], !endpoint.isLoopback, !allowInsecure {
            r.report(
                "url", "plain \(endpoint.scheme):// to \(endpoint.host) would send events and credentials unencrypted",
                fix: "use \(schemes[0])://, or set `allow_insecure: true` under hub if this network is trusted")
        }
    }

    // MARK: outbox, admin, logging

    private static func outboxSection(_ r: MappingReader) -> OutboxConfiguration {
        var outbox = OutboxConfiguration()
        let high = r.size("high_watermark", minimum: 1)
        let low = r.size("low_watermark")
        if let high {
            outbox.highWatermark = high
            // Without an explicit low watermark, keep the default ratio (768MiB of 1GiB).
            outbox.lowWatermark = high / 4 * 3
        }
        if let low { outbox.lowWatermark = low }
        if high != nil || low != nil, outbox.lowWatermark >= outbox.highWatermark {
            r.report(
                low != nil ? "low_watermark" : "high_watermark",
                "low_watermark (\(outbox.lowWatermark) bytes) is not below high_watermark (\(outbox.highWatermark) bytes)",
                fix: "set low_watermark below high_watermark, e.g. three quarters of it")
        }
        if let value = r.size("min_free_disk") { outbox.minFreeDisk = value }
        if let value = r.duration("retain_delivered") { outbox.retainDelivered = value }
        if let value = r.bool("direct_binding") { outbox.directBinding = value }
        return outbox
    }

    private static func adminSection(_ r: MappingReader) -> AdminConfiguration {
        var admin = AdminConfiguration()
        if r.isNull("listen") {
            admin.listen = nil
        } else if let address = r.listenAddress("listen", example: "127.0.0.1:9464") {
            admin.listen = address.description
        }
        return admin
    }

    private static func loggingSection(_ r: MappingReader) -> LoggingConfiguration {
        var logging = LoggingConfiguration()
        if let level = r.choice("level", as: LoggingConfiguration.Level.self) { logging.level = level }
        if let format = r.choice("format", as: LoggingConfiguration.Format.self) { logging.format = format }
        return logging
    }
}
