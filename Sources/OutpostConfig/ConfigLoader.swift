import Foundation
import Yams

/// Reads and validates Outpost's YAML configuration files (the agent's and the hub's; deploy/examples/ shows every key).
///
/// Validation collects every problem in one pass (unknown keys with suggestions, missing keys,
/// wrong types, bad units and values, cross-key rules) and throws them together as a
/// ``ConfigError``. The loader never touches the file system beyond reading the file itself;
/// `checkEnvironment(_:)` checks the paths the configuration names.
public enum ConfigLoader {
    /// Loads the agent configuration at `path` (`outpost run --config FILE`).
    public static func loadAgent(path: String) throws(ConfigError) -> AgentConfiguration {
        try loadAgent(yaml: readFile(path), fileName: path)
    }

    /// Loads an agent configuration from YAML text; `fileName` only names it in problems.
    public static func loadAgent(yaml: String, fileName: String) throws(ConfigError) -> AgentConfiguration {
        try load(yaml: yaml, fileName: fileName) { root, log in agentConfiguration(root, log: log) }
    }

    /// Loads the hub configuration at `path` (`outpost-hub serve --config FILE`).
    public static func loadHub(path: String) throws(ConfigError) -> HubConfiguration {
        try loadHub(yaml: readFile(path), fileName: path)
    }

    /// Loads a hub configuration from YAML text; `fileName` only names it in problems.
    public static func loadHub(yaml: String, fileName: String) throws(ConfigError) -> HubConfiguration {
        try load(yaml: yaml, fileName: fileName) { root, log in hubConfiguration(root, log: log) }
    }

    // MARK: plumbing

    private static func readFile(_ path: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason =
                FileManager.default.fileExists(atPath: path)
                ? "cannot read the file as UTF-8 text" : "the file does not exist"
            throw ConfigError(
                file: path,
                problems: [ConfigProblem(keyPath: "", message: reason, fix: "check the path given to --config")])
        }
    }

    /// Composes the YAML, then runs `read` on the top-level node; throws unless it found no problem.
    private static func load<Configuration>(
        yaml: String, fileName: String, read: (Node, ProblemLog) -> Configuration
    ) throws(ConfigError) -> Configuration {
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(file: fileName, problems: [syntaxProblem(error)])
        }
        guard let root = composed else {
            throw ConfigError(
                file: fileName,
                problems: [ConfigProblem(
                    keyPath: "", message: "the file is empty",
                    fix: "start from deploy/examples/outpost.yaml or deploy/examples/outpost-hub.yaml")])
        }
        let log = ProblemLog()
        let configuration = read(root, log)
        guard log.isEmpty else { throw ConfigError(file: fileName, problems: inFileOrder(log.problems)) }
        return configuration
    }

    /// Sorts by line, keeping the reporting order within a line (and for problems without one).
    private static func inFileOrder(_ problems: [ConfigProblem]) -> [ConfigProblem] {
        problems.enumerated()
            .sorted { ($0.element.line ?? .max, $0.offset) < ($1.element.line ?? .max, $1.offset) }
            .map(\.element)
    }

    private static func syntaxProblem(_ error: any Error) -> ConfigProblem {
        let fix =
            "fix the YAML syntax: indent with spaces, write `key: value`, and quote values that start with"
            + " [ { * & ! or contain ': ' or ' #'"
        guard let yamlError = error as? YamlError else {
            return ConfigProblem(keyPath: "", message: "not valid YAML: \(error)", fix: fix)
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text), " } ?? ""
            return ConfigProblem(keyPath: "", line: mark.line, message: "not valid YAML: \(detail)\(problem)", fix: fix)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigProblem(
                keyPath: "", line: context.mark.line,
                message: "key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) appears twice in one mapping",
                fix: "keep one of them")
        default:
            return ConfigProblem(keyPath: "", message: "not valid YAML: \(yamlError)", fix: fix)
        }
    }
}
