import Foundation
import HubServer
import OutpostConfig
import Yams

/// Reads the hub's configuration file (SPEC §5): `listen`, `storage.sqlite|postgres`,
/// `max_batch_bytes`, `max_concurrent_batches`, `read_token_sha256`, `agents`.
/// Unknown keys are errors; every problem is reported, not just the first.
enum HubConfigFile {
    static let defaultSQLitePath = "/var/lib/outpost-hub/hub.sqlite"

    static func load(path: String) throws(HubConfigFileError) -> HubConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw HubConfigFileError(file: path, problems: ["cannot read the file (\(error.localizedDescription)); check the path given to --config"])
        }
        return try parse(yaml: text, file: path)
    }

    static func parse(yaml: String, file: String) throws(HubConfigFileError) -> HubConfiguration {
        var reader = Reader()
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw HubConfigFileError(file: file, problems: ["not valid YAML: \(error)"])
        }
        var configuration = HubConfiguration(storage: .sqlite(path: defaultSQLitePath), agents: [])
        guard let root, case .mapping(let top) = root else {
            throw HubConfigFileError(file: file, problems: ["the file must be a YAML mapping with at least `agents:`"])
        }
        var sawAgents = false
        for (keyNode, value) in top {
            let key = keyNode.string ?? "?"
            switch key {
            case "listen":
                if let (host, port) = reader.listenAddress(value, key: key) {
                    configuration.listenHost = host
                    configuration.listenPort = port
                }
            case "storage":
                if let storage = reader.storage(value) { configuration.storage = storage }
            case "max_batch_bytes":
                if let size = reader.size(value, key: key) { configuration.maxBatchBytes = size }
            case "max_concurrent_batches":
                if let count = reader.positiveInteger(value, key: key) { configuration.maxConcurrentBatches = count }
            case "read_token_sha256":
                configuration.readTokenSHA256 = reader.isNull(value) ? nil : reader.digest(value, key: key)
            case "agents":
                sawAgents = true
                configuration.agents = reader.agents(value)
            default:
                reader.problem(keyNode, "unknown key `\(key)`; allowed: listen, storage, max_batch_bytes, max_concurrent_batches, read_token_sha256, agents")
            }
        }
        if !sawAgents {
            reader.problems.append("key `agents` is missing; list each agent with id, region and token_sha256")
        }
        guard reader.problems.isEmpty else { throw HubConfigFileError(file: file, problems: reader.problems) }
        return configuration
    }

    /// Collects problems while reading values; every reader returns `nil` after recording one.
    private struct Reader {
        var problems: [String] = []

        mutating func problem(_ node: Node, _ message: String) {
            let line = node.mark.map { "line \($0.line): " } ?? ""
            problems.append(line + message)
        }

        func isNull(_ node: Node) -> Bool {
            if case .scalar(let scalar) = node, scalar.style == .plain, ["null", "~", ""].contains(scalar.string) { return true }
            return false
        }

        mutating func string(_ node: Node, key: String) -> String? {
            guard case .scalar(let scalar) = node, !isNull(node), !scalar.string.isEmpty else {
                problem(node, "key `\(key)` must be a non-empty text value")
                return nil
            }
            return scalar.string
        }

        mutating func listenAddress(_ node: Node, key: String) -> (String, Int)? {
            guard let text = string(node, key: key) else { return nil }
            let fix = "write host:port, e.g. 127.0.0.1:8080 or [::1]:8080"
            guard let colon = text.lastIndex(of: ":") else {
                problem(node, "key `\(key)`: \(text) has no port; \(fix)")
                return nil
            }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                problem(node, "key `\(key)`: \(text) is not a listen address; \(fix)")
                return nil
            }
            return (host, port)
        }

        mutating func size(_ node: Node, key: String) -> Int? {
            guard let text = string(node, key: key) else { return nil }
            let units: [(suffix: String, factor: Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
            for unit in units where text.hasSuffix(unit.suffix) {
                let number = text.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)
                if let value = Int(number), value > 0, value <= Int.max / unit.factor {
                    return value * unit.factor
                }
                break
            }
            problem(node, "key `\(key)`: \(text) is not a size; write a positive whole number with B, KiB, MiB or GiB, e.g. 16MiB")
            return nil
        }

        mutating func positiveInteger(_ node: Node, key: String) -> Int? {
            guard let text = string(node, key: key) else { return nil }
            guard let value = Int(text), value > 0 else {
                problem(node, "key `\(key)`: \(text) is not a positive whole number, e.g. 16")
                return nil
            }
            return value
        }

        mutating func digest(_ node: Node, key: String) -> String? {
            guard let text = string(node, key: key) else { return nil }
            guard let digest = TokenDigest(hex: text) else {
                problem(node, "key `\(key)` must be 64 hex digits, the SHA-256 of the token; compute it with `outpost-hub hash-token < token-file`")
                return nil
            }
            return digest.hex
        }

        mutating func storage(_ node: Node) -> HubConfiguration.Storage? {
            guard case .mapping(let mapping) = node, mapping.count == 1, let (keyNode, value) = mapping.first else {
                problem(node, "key `storage` must hold exactly one of `sqlite: PATH` or `postgres: URL`")
                return nil
            }
            switch keyNode.string {
            case "sqlite": return string(value, key: "storage.sqlite").map { .sqlite(path: $0) }
            case "postgres": return string(value, key: "storage.postgres").map { .postgres(url: $0) }
            default:
                problem(keyNode, "unknown key `storage.\(keyNode.string ?? "?")`; use `sqlite: PATH` or `postgres: URL`")
                return nil
            }
        }

        mutating func agents(_ node: Node) -> [HubAgent] {
            guard case .sequence(let entries) = node, !entries.isEmpty else {
                problem(node, "key `agents` must be a non-empty list of entries with id, region and token_sha256")
                return []
            }
            var agents: [HubAgent] = []
            for (index, entry) in entries.enumerated() {
                if let agent = agent(entry, prefix: "agents[\(index)]") { agents.append(agent) }
            }
            for (index, agent) in agents.enumerated() {
                if agents[..<index].contains(where: { $0.id == agent.id }) {
                    problems.append("key `agents`: agent id \(agent.id) is listed twice; each agent needs its own entry and token")
                }
                if agents[..<index].contains(where: { $0.tokenSHA256 == agent.tokenSHA256 }) {
                    problems.append("key `agents`: agent \(agent.id) has the same token_sha256 as another agent; give each agent its own token")
                }
            }
            return agents
        }

        private mutating func agent(_ node: Node, prefix: String) -> HubAgent? {
            guard case .mapping(let mapping) = node else {
                problem(node, "key `\(prefix)` must be a mapping with id, region and token_sha256")
                return nil
            }
            var id: String?, region: String?, digest: String?
            var complete = true
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? "?"
                switch key {
                case "id": id = string(value, key: "\(prefix).id")
                case "region": region = string(value, key: "\(prefix).region")
                case "token_sha256": digest = self.digest(value, key: "\(prefix).token_sha256")
                default:
                    problem(keyNode, "unknown key `\(prefix).\(key)`; allowed: id, region, token_sha256")
                    complete = false
                }
            }
            for (name, value) in [("id", id), ("region", region), ("token_sha256", digest)] where value == nil {
                if mapping[name] == nil { problem(node, "key `\(prefix).\(name)` is missing") }
                complete = false
            }
            guard complete, let id, let region, let digest else { return nil }
            return HubAgent(id: id, region: region, tokenSHA256: digest)
        }
    }
}
