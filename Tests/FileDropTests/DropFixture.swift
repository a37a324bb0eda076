import EventModel
import FileDrop
import Foundation
import Glibc
import Logging
import Testing

/// A drop directory, archive and error directory under a fresh temporary directory, plus
/// helpers to run a source against them.
struct DropFixture {
    let root: String
    let drop: String
    let archive: String
    let errors: String

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("filedrop-\(UUID().uuidString)").path
        drop = root + "/drop"
        archive = root + "/archive"
        errors = root + "/error"
        for directory in [drop, archive, errors] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    /// Settings for tests: short settle and retry times.
    func settings(
        after: FileDropSettings.AfterPickup? = nil, include: [String] = ["*"],
        exclude: [String] = ["*.tmp", "*.part", ".*"], doneMarker: String? = nil,
        maxFileSize: Int64 = 1 << 20, rescanInterval: Double = 30
    ) -> FileDropSettings {
        FileDropSettings(
            name: "test-drop", directory: drop, after: after ?? .archive(directory: archive),
            errorDirectory: errors, include: include, exclude: exclude, format: .raw, settle: 0.2,
            doneMarker: doneMarker, maxFileSize: maxFileSize, rescanInterval: rescanInterval,
            retryInitial: 0.1, retryMax: 0.4)
    }

    /// Writes a file into the drop directory, optionally dated `age` seconds back.
    @discardableResult
    func write(_ name: String, _ content: String, age: Double? = nil) throws -> String {
        let path = drop + "/" + name
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        if let age {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: -age)], ofItemAtPath: path)
        }
        return path
    }

    func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Today's archive folder (UTC).
    var archiveToday: String { archive + "/" + String(RFC3339.format(Date().timeIntervalSince1970).prefix(10)) }

    /// The parsed `<path>.reason.json`.
    func reason(of path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path + ".reason.json"))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func removeAll() { try? FileManager.default.removeItem(atPath: root) }

    /// Runs a source over this fixture during `body`, then cancels it and checks it stops promptly.
    func run(
        _ settings: FileDropSettings, intake: RecordingIntake,
        _ body: (FileDropSource) async throws -> Void
    ) async throws {
        let source = FileDropSource(
            settings: settings, intake: intake,
            logger: Logger(label: "filedrop-test") { _ in SwiftLogNoOpLogHandler() })
        let task = Task { try await source.run() }
        do {
            try await body(source)
        } catch {
            task.cancel()
            throw error
        }
        let cancelledAt = Date()
        task.cancel()
        try await task.value
        #expect(Date().timeIntervalSince(cancelledAt) < 2, "run() must return promptly when cancelled")
    }
}

/// Polls `condition` every 20 ms for up to `timeout` seconds; returns whether it became true.
func eventually(timeout: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline, !Task.isCancelled {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Waits long enough that a ready file would certainly have been picked up (several settle
/// periods), for assertions that something did *not* happen.
func quietPeriod() async throws {
    try await Task.sleep(for: .milliseconds(900))
}
