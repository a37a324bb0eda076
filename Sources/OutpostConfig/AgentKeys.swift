/// The keys each section of the agent configuration accepts (deploy/examples/outpost.yaml shows each).
enum AgentKeys {
    static let top = ["agent", "sources", "hub", "outbox", "admin", "logging"]
    static let agent = ["id", "region", "data_dir"]
    static let outbox = ["high_watermark", "low_watermark", "min_free_disk", "retain_delivered", "direct_binding"]
    static let admin = ["listen"]
    static let logging = ["level", "format"]

    /// `type:` of a source, with the keys that type accepts.
    enum SourceKind: String, CaseIterable {
        case fileDrop = "file_drop"
        case sftp
        case amqp

        var keys: [String] {
            switch self {
            case .fileDrop:
                [
                    "name", "type", "path", "include", "exclude", "format", "settle", "done_marker", "after",
                    "archive_dir", "error_dir", "max_file_size", "rescan_interval",
                ]
            case .sftp:
                [
                    "name", "type", "host", "port", "user", "private_key_file", "passphrase_file", "password_file",
                    "known_hosts_file", "host_key_fingerprint", "remote_dir", "include", "exclude", "recursive",
                    "poll_interval", "settle", "done_marker", "format", "after", "remote_archive_dir",
                    "remote_error_dir", "max_file_size",
                ]
            case .amqp:
                [
                    "name", "type", "url", "credentials_file", "queue", "prefetch", "format", "reject_exchange",
                    "reject_routing_key",
                ]
            }
        }
    }

    /// `hub.type`, with the keys only that type accepts.
    static let hubCommon = [
        "type", "url", "batch_max_events", "batch_max_bytes", "max_concurrency", "retry_initial", "retry_max",
        "request_timeout", "allow_insecure", "ca_file", "client_cert_file", "client_key_file",
    ]
    static func hubOnly(_ kind: HubSinkConfiguration.Kind) -> [String] {
        switch kind {
        case .http: ["token_file", "mode", "compression", "proxy", "proxy_credentials_file"]
        case .amqp: ["credentials_file", "exchange", "routing_key", "content_mode"]
        }
    }

    /// Keys that exist for other variants: key → why it is wrong here.
    static func misplaced<Variant: RawRepresentable<String> & CaseIterable>(
        for chosen: Variant, keys: (Variant) -> [String], typeKey: String
    ) -> [String: String] {
        let own = Set(keys(chosen))
        var owners: [String: [String]] = [:]
        for other in Variant.allCases where other.rawValue != chosen.rawValue {
            for key in keys(other) where !own.contains(key) {
                owners[key, default: []].append("`\(typeKey): \(other.rawValue)`")
            }
        }
        return owners.mapValues { "it applies only to \($0.joined(separator: " and "))" }
    }
}
