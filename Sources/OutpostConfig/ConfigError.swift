/// A configuration file that cannot be used, with every problem found in it.
///
/// `description` renders one line per problem, prefixed with the file:
/// `/etc/outpost/outpost.yaml: sources[1].settle (line 12): '2 seconds' is not a duration (fix: …)`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as the operator named it (or the display name given to the loader).
    public var file: String
    /// Every problem, in file order as far as the loader could tell; never empty when thrown.
    public var problems: [ConfigProblem]

    public init(file: String, problems: [ConfigProblem]) {
        self.file = file
        self.problems = problems
    }

    public var description: String {
        problems.map { "\(file): \($0)" }.joined(separator: "\n")
    }
}
