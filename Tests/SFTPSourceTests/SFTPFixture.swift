import EventModel
import FileSourceSupport
import Foundation
import Logging
import SFTPSource
import Testing

/// An sshd, a remote directory layout under it, and helpers to run a source against them.
struct SFTPFixture {
    let server: TestSSHServer
    let inbox: String
    let archive: String
    let errors: String
    let staging: String

    init(logRequests: Bool = false, maxSessions: Int = 100, deniedRequests: String? = nil) throws {
        server = try TestSSHServer(logRequests: logRequests, maxSessions: maxSessions, deniedRequests: deniedRequests)
        inbox = server.remoteRoot + "/outbound"
        archive = inbox + "/archive"
        errors = server.remoteRoot + "/error"
        staging = server.directory + "/staging"
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        chmod(inbox, 0o777)
    }

    /// Settings for tests: key auth as the test user, short poll and settle times.
    func settings(
        key: String? = nil, password: String? = nil, hostKeyCheck: SFTPSourceSettings.HostKeyCheck? = nil,
        after: SFTPSourceSettings.AfterPickup? = nil, errorDirectory: String? = nil, doneMarker: String? = nil,
        pollInterval: Double = 0.1, settle: Double = 0.2, maxFileSize: Int64 = 1 << 30
    ) throws -> SFTPSourceSettings {
        SFTPSourceSettings(
            name: "partner-sftp", host: "127.0.0.1", port: server.port, user: TestSSHServer.user,
            hostKeyCheck: try hostKeyCheck ?? .knownHosts(file: server.writeKnownHosts()),
            remoteDirectory: inbox, after: after ?? .move(directory: archive), stagingDirectory: staging,
            privateKeyFile: key, passwordFile: password, pollInterval: pollInterval, settle: settle,
            doneMarker: doneMarker, format: .raw, errorDirectory: errorDirectory, maxFileSize: maxFileSize,
            connectTimeout: 5, operationTimeout: 10, reconnectInitial: 0.1, reconnectMax: 0.5)
    }

    /// Settings with a freshly authorized ed25519 key.
    func keySettings(
        after: SFTPSourceSettings.AfterPickup? = nil, errorDirectory: String? = nil, doneMarker: String? = nil,
        settle: Double = 0.2
    ) throws -> SFTPSourceSettings {
        try settings(
            key: server.authorizeKey(type: "ed25519"), after: after, errorDirectory: errorDirectory,
            doneMarker: doneMarker, settle: settle)
    }

    /// Writes a remote file (as root, world-readable), optionally dated `age` seconds back.
    @discardableResult
    func write(_ name: String, _ content: String, age: Double = 5, in directory: String? = nil) throws -> String {
        let path = (directory ?? inbox) + "/" + name
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -age)], ofItemAtPath: path)
        return path
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Neither `path` nor its claim (``ClaimName``) exists: the file is acknowledged.
    func isGone(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        let claim = (path as NSString).deletingLastPathComponent + "/" + ClaimName.of(name)
        return !exists(path) && !exists(claim)
    }

    /// The names in `directory`, a claimed file under the name it was claimed from.
    func documentNames(in directory: String) -> [String] {
        names(in: directory).map { ClaimName.original(of: $0) ?? $0 }.sorted()
    }

    func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// Runs `source` while `body` runs, then cancels it and waits for it to stop.
    func running<T>(
        _ source: SFTPSource, _ body: () async throws -> T
    ) async throws -> T {
        let task = Task { try await source.run() }
        defer { task.cancel() }
        let result = try await body()
        task.cancel()
        try await task.value
        return result
    }

    static func logger() -> Logger {
        var logger = Logger(label: "sftp-test")
        logger.logLevel = ProcessInfo.processInfo.environment["SFTP_TEST_LOG"] == nil ? .critical : .debug
        return logger
    }
}

/// Waits until `condition` holds, polling every 20 ms; fails the test after `timeout` seconds.
func eventually(
    timeout: Double = 15, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out after \(timeout)s waiting for: \(what)", sourceLocation: sourceLocation)
    throw TestFailure("timed out waiting for: \(what)")
}
