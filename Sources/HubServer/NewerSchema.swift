/// A database a newer hub migrated: its schema steps this version does not know.
///
/// A step a later version names `compatible-…` only adds what older versions can run beside
/// (an index, say); any other unknown step may change what this version's queries would read,
/// so the storage refuses the database instead of misreading it.
enum NewerSchema {
    static let compatiblePrefix = "compatible-"

    /// The steps of `applied` (key, name) whose key is not in `known` and whose name is not
    /// marked compatible, as "key" or "key name", sorted.
    static func unknownSteps<Key: Hashable & CustomStringConvertible>(_ applied: [(key: Key, name: String)], known: Set<Key>) -> [String] {
        applied.filter { !known.contains($0.key) && !$0.name.hasPrefix(compatiblePrefix) }
            .map { $0.key.description == $0.name ? $0.name : "\($0.key) \($0.name)" }
            .sorted()
    }
}

/// The refusal of a database a newer hub migrated (``NewerSchema``).
public struct NewerSchemaError: Error, CustomStringConvertible, Sendable {
    /// The database: its path, or where it is.
    public let location: String
    /// The unknown steps, sorted.
    public let steps: [String]

    public var description: String {
        "the hub database \(location) was changed by a newer outpost-hub (schema steps \(steps.joined(separator: ", ")) "
            + "are unknown to this version), so this version would misread it and does not use it; nothing in it is "
            + "changed. Run the newer version again (docs/OPERATIONS.md, section 'Upgrade, roll back, remove')"
    }
}
