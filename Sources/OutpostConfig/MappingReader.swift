import Yams

/// Reads the keys of one YAML mapping at a known key path (`sources[1]`), reporting every
/// problem to a shared ``ProblemLog`` instead of stopping at the first.
///
/// Each typed accessor returns nil when the key is absent or its value is unusable (the latter is
/// reported), so callers keep their defaults and carry on. `null` or an empty value counts as a
/// problem unless the accessor is asked to accept it.
struct MappingReader {
    let path: String
    let node: Node
    let log: ProblemLog
    private let values: [String: Node]

    /// Opens `node` as a mapping whose keys must be among `allowedKeys`. Unknown keys are reported
    /// with a suggestion; `misplaced` explains keys that are valid elsewhere (key → message).
    /// Nil (reported) when `node` is not a mapping.
    static func open(
        _ node: Node, at path: String, log: ProblemLog, allowedKeys: [String],
        misplaced: [String: String] = [:]
    ) -> MappingReader? {
        guard let mapping = node.mapping else {
            log.report(
                path, at: node, "expected a mapping (indented `key: value` lines), found \(node.kindDescription)",
                fix: path.isEmpty
                    ? "start the file with the top-level keys (\(allowedKeys.joined(separator: ", ")))"
                    : "write the keys of \(path) under it, indented")
            return nil
        }
        var values: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                log.report(path, at: keyNode, "a key is not plain text", fix: "use plain names as keys")
                continue
            }
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            if allowedKeys.contains(key) {
                values[key] = value
            } else if let reason = misplaced[key] {
                log.report(keyPath, at: keyNode, "unknown key '\(key)': \(reason)", fix: "remove it")
            } else if let suggestion = KeySuggestion.closest(to: key, among: allowedKeys) {
                log.report(keyPath, at: keyNode, "unknown key '\(key)'", fix: "did you mean '\(suggestion)'?")
            } else {
                log.report(
                    keyPath, at: keyNode, "unknown key '\(key)'",
                    fix: "remove it; allowed here: \(allowedKeys.joined(separator: ", "))")
            }
        }
        return MappingReader(path: path, node: node, log: log, values: values)
    }

    private init(path: String, node: Node, log: ProblemLog, values: [String: Node]) {
        self.path = path
        self.node = node
        self.log = log
        self.values = values
    }

    /// `path.key`
    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw value of `key` (nil when absent).
    func value(_ key: String) -> Node? { values[key] }

    /// True when `key` is present with a `null` (or empty) value.
    func isNull(_ key: String) -> Bool { values[key]?.isNull ?? false }

    /// True when `key` is present with a value other than `null`.
    func has(_ key: String) -> Bool { values[key].map { !$0.isNull } ?? false }

    /// Reports a problem about `key`, at its value's line (or this mapping's when absent).
    func report(_ key: String, _ message: String, fix: String) {
        log.report(keyPath(key), at: values[key] ?? node, message, fix: fix)
    }

    /// Reports that the required `key` is missing; `example` is a value to show in the fix.
    func reportMissing(_ key: String, example: String) {
        reportMissing(key, fix: "add `\(key): \(example)`\(path.isEmpty ? "" : " under \(path)")")
    }

    /// Reports that the required `key` is missing, with a custom fix.
    func reportMissing(_ key: String, fix: String) {
        // A line for a top-level key would only point at the file's first line.
        log.report(keyPath(key), at: path.isEmpty ? nil : node, "missing required key '\(key)'", fix: fix)
    }

    // MARK: scalars

    /// The text of a scalar value. Any plain or quoted scalar counts (so `region: no` is "no").
    func string(_ key: String, required example: String? = nil, nullable: Bool = false) -> String? {
        guard let value = values[key] else {
            if let example { reportMissing(key, example: example) }
            return nil
        }
        if value.isNull {
            if !nullable {
                if let example {
                    report(key, "'\(key)' has no value", fix: "write `\(key): \(example)`")
                } else {
                    report(key, "'\(key)' has no value", fix: "give it a value or remove the line to use the default")
                }
            }
            return nil
        }
        guard let text = value.scalar?.string else {
            report(key, "expected a single value, found \(value.kindDescription)", fix: "write `\(key): VALUE` on one line")
            return nil
        }
        guard !text.isEmpty else {
            report(key, "'\(key)' is empty", fix: "give it a value or remove the line")
            return nil
        }
        return text
    }

    /// A string that must be an absolute file-system path.
    func absolutePath(_ key: String, required example: String? = nil) -> String? {
        guard let text = string(key, required: example) else { return nil }
        guard text.hasPrefix("/") else {
            report(
                key, "'\(text)' is a relative path; paths must be absolute",
                fix: "write the full path starting with /, e.g. \(example ?? "/etc/outpost/\(text)")")
            return nil
        }
        return text
    }

    /// A whole number within `range`.
    func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(key) else { return nil }
        guard values[key]?.tagName == .int, let number = values[key]?.int else {
            report(
                key, "'\(text)' is not a whole number",
                fix: "write a number from \(range.lowerBound) to \(range.upperBound) without quotes")
            return nil
        }
        guard range.contains(number) else {
            report(key, "\(number) is out of range", fix: "use a number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }

    /// `true` or `false`.
    func bool(_ key: String) -> Bool? {
        guard let text = string(key) else { return nil }
        guard values[key]?.tagName == .bool, let flag = values[key]?.bool else {
            report(key, "'\(text)' is not true or false", fix: "write true or false without quotes")
            return nil
        }
        return flag
    }

    /// A size such as `256MiB`, at least `minimum` bytes.
    func size(_ key: String, minimum: Int64 = 0) -> Int64? {
        guard let text = string(key) else { return nil }
        do {
            let bytes = try Units.parseSize(text)
            guard bytes >= minimum else {
                report(key, "'\(text)' is too small", fix: "use at least \(minimum) bytes")
                return nil
            }
            return bytes
        } catch {
            report(key, error.message, fix: error.fix)
            return nil
        }
    }

    /// A duration such as `500ms`, in seconds; `positive` refuses zero.
    func duration(_ key: String, positive: Bool = false) -> Double? {
        guard let text = string(key) else { return nil }
        do {
            let seconds = try Units.parseDuration(text)
            guard !positive || seconds > 0 else {
                report(key, "'\(text)' must be longer than zero", fix: "use a positive duration, e.g. 1s")
                return nil
            }
            return seconds
        } catch {
            report(key, error.message, fix: error.fix)
            return nil
        }
    }

    /// One of the enum's raw values.
    func choice<Choice: RawRepresentable<String> & CaseIterable>(
        _ key: String, as _: Choice.Type, required example: String? = nil
    ) -> Choice? {
        guard let text = string(key, required: example) else { return nil }
        guard let choice = Choice(rawValue: text) else {
            let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            report(key, "'\(text)' is not a valid \(key)", fix: "use one of: \(allowed)")
            return nil
        }
        return choice
    }

    // MARK: collections

    /// A list of non-empty strings, e.g. `["*.xml", "*.XML"]`.
    func stringList(_ key: String) -> [String]? {
        guard let value = values[key] else { return nil }
        guard let items = value.sequence else {
            report(key, "expected a list, found \(value.kindDescription)", fix: "write `\(key): [\"a\", \"b\"]`")
            return nil
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item.scalar?.string, !item.isNull, !text.isEmpty else {
                log.report(
                    "\(keyPath(key))[\(index)]", at: item, "expected a non-empty text, found \(item.kindDescription)",
                    fix: "quote each entry, e.g. \"*.xml\"")
                continue
            }
            strings.append(text)
        }
        return strings.count == items.count ? strings : nil
    }

    /// The items of a list value; reports when `key` is missing (if `requiredFix` is given) or not a list.
    func sequence(_ key: String, requiredFix: String? = nil) -> [Node]? {
        guard let value = values[key], !value.isNull else {
            if let requiredFix { reportMissing(key, fix: requiredFix) }
            return nil
        }
        guard let items = value.sequence else {
            report(key, "expected a list, found \(value.kindDescription)", fix: "write each entry on its own line starting with `- `")
            return nil
        }
        return Array(items)
    }

    /// A nested mapping; reports when `key` is missing (if `requiredFix` is given) or not a mapping.
    func mapping(
        _ key: String, allowedKeys: [String], misplaced: [String: String] = [:], requiredFix: String? = nil
    ) -> MappingReader? {
        guard let value = values[key], !value.isNull else {
            if let requiredFix { reportMissing(key, fix: requiredFix) }
            return nil
        }
        return MappingReader.open(value, at: keyPath(key), log: log, allowedKeys: allowedKeys, misplaced: misplaced)
    }
}

extension Node {
    /// The resolved YAML tag (`int`, `bool`, `null`, `str`, …).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }

    /// True for `null`, `~` and empty values (quoted "null" is text).
    var isNull: Bool {
        guard let scalar else { return false }
        return tagName == .null && scalar.style == .plain
    }

    /// How the node reads to an operator: "a list", "a mapping", "'abc'".
    var kindDescription: String {
        switch self {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let scalar): isNull ? "no value" : "'\(scalar.string)'"
        }
    }
}
