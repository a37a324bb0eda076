import Foundation

/// One test's private directory tree under the system temp directory.
struct TestDirs {
    let root: String
    var drop: String { root + "/drop" }
    var archive: String { root + "/archive" }
    var error: String { root + "/error" }
    var agentData: String { root + "/agent-data" }
    var hubData: String { root + "/hub-data" }
    /// Logs, configurations, tokens, command scratch files.
    var work: String { root + "/work" }
    /// Files outside the drop directory (symlink targets, files being prepared).
    var outside: String { root + "/outside" }

    init(label: String) throws {
        let base = FileManager.default.temporaryDirectory.path
        root = base + "/outpost-e2e-\(label)-\(UUID().uuidString.prefix(8))"
        for dir in [drop, archive, error, agentData, hubData, work, outside] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Names in `dir` (not recursive), sorted; empty when it does not exist.
    static func names(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// `YYYY-MM-DD` of `date` in UTC: the name of an archive day directory.
    static func utcDay(_ date: Date) -> String {
        String(ISO8601DateFormatter().string(from: date).prefix(10))
    }

    /// Files under the archive, as `YYYY-MM-DD/name`, sorted.
    func archivedFiles() -> [String] {
        TestDirs.names(in: archive).flatMap { day in TestDirs.names(in: archive + "/" + day).map { day + "/" + $0 } }
    }

    /// Writes `bytes` under a hidden temporary name in the drop directory, then renames it to
    /// `name`: how batch jobs publish complete files.
    func publish(_ name: String, _ bytes: [UInt8]) throws {
        let temporary = drop + "/.\(name).\(UUID().uuidString.prefix(6)).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw ScenarioError("cannot write \(temporary)")
        }
        guard rename(temporary, drop + "/" + name) == 0 else {
            throw ScenarioError("cannot rename \(temporary) to \(name): errno \(errno)")
        }
    }

    /// Copies a file into the drop directory the same way.
    func publish(copyOf path: String, as name: String? = nil) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw ScenarioError("cannot read \(path)") }
        try publish(name ?? (path as NSString).lastPathComponent, Array(data))
    }
}
