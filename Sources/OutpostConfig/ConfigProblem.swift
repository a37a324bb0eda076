/// One thing wrong with a configuration file: where, what, and how to fix it.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is, e.g. `sources[1].settle` or `hub.url` (indices count from 0).
    /// Empty for problems with the file as a whole (unreadable, not YAML, empty).
    public var keyPath: String
    /// 1-based line in the file, when known.
    public var line: Int?
    /// What is wrong, e.g. `'2 seconds' is not a duration`.
    public var message: String
    /// What to do about it, e.g. `use a number with ms, s, m, h or d (e.g. 2s)`.
    public var fix: String

    public init(keyPath: String, line: Int? = nil, message: String, fix: String) {
        self.keyPath = keyPath
        self.line = line
        self.message = message
        self.fix = fix
    }

    /// `sources[1].settle (line 12): '2 seconds' is not a duration (fix: use …)`
    public var description: String {
        let location =
            switch (keyPath.isEmpty, line) {
            case (false, let line?): "\(keyPath) (line \(line)): "
            case (false, nil): "\(keyPath): "
            case (true, let line?): "line \(line): "
            case (true, nil): ""
            }
        return "\(location)\(message) (fix: \(fix))"
    }
}
