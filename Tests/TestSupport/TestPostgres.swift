import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster on 127.0.0.1 for tests: `initdb` and `pg_ctl` from Debian's
/// `postgresql` package, run as the `postgres` user (the server refuses root) in a temp dir,
/// trust authentication for the user `outpost`. `shared()` starts one per test process and
/// stops it when the process exits; `start()` gives a test its own (to restart or crash it).
public final class TestPostgres: @unchecked Sendable {
    public static let binDirectory = "/usr/lib/postgresql/15/bin"

    /// Nil when PostgreSQL can run here; otherwise why not (the fix in the text).
    public static var unavailableReason: String? {
        guard FileManager.default.isExecutableFile(atPath: binDirectory + "/pg_ctl") else {
            return "\(binDirectory)/pg_ctl is absent: install postgresql (scripts/install-deps.sh --test) to run the PostgreSQL tests"
        }
        guard getpwnam("postgres") != nil, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else {
            return "the postgres user or /usr/sbin/runuser is missing (apt-get install -y postgresql util-linux)"
        }
        guard getuid() == 0 else { return "starting a private PostgreSQL cluster needs root (to run it as the postgres user)" }
        return nil
    }

    /// Whether the PostgreSQL tests run: when the server can run, and always under CI, where a
    /// server that cannot start is a failure with the reason, never a skip.
    public static var shouldRun: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["CI"] != nil
    }

    public let directory: String
    public let port: Int
    private var dataDirectory: String { directory + "/data" }

    private init() throws {
        directory = NSTemporaryDirectory() + "outpost-pg-" + UUID().uuidString.prefix(8).lowercased()
        port = try LoopbackPort.free()
    }

    /// A new cluster, started and accepting connections.
    public static func start() async throws -> TestPostgres {
        if let reason = unavailableReason { throw SubprocessError(reason) }
        let server = try TestPostgres()
        try FileManager.default.createDirectory(atPath: server.directory, withIntermediateDirectories: true)
        chmod(server.directory, 0o755)
        try Subprocess.check("/usr/bin/chown", ["postgres", server.directory])
        try server.asPostgres("initdb", ["-D", server.dataDirectory, "-A", "trust", "-U", "outpost", "--no-sync"], timeout: 120)
        try await server.boot()
        return server
    }

    /// Starts the server on its data (again, after a stop or crash).
    public func boot() async throws {
        try asPostgres(
            "pg_ctl",
            ["-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "60", "start",
             "-o", "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=200"],
            timeout: 90)
    }

    /// Stops the server: `fast` ends sessions cleanly, `immediate` is a crash (recovery at the
    /// next boot).
    public func stop(immediate: Bool = false) throws {
        try asPostgres("pg_ctl", ["-D", dataDirectory, "-m", immediate ? "immediate" : "fast", "-w", "stop"], timeout: 60)
    }

    /// Creates an empty database and returns its URL.
    public func createDatabase(_ name: String = "hub_" + UUID().uuidString.prefix(8).lowercased()) throws -> String {
        try psql("postgres", "CREATE DATABASE \(name)")
        return url(database: name)
    }

    /// The URL of `database` for the user `outpost`.
    public func url(database: String) -> String {
        "postgres://outpost@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Runs `sql` with psql on `database` and returns its unaligned, tuples-only output.
    @discardableResult
    public func psql(_ database: String, _ sql: String) throws -> String {
        let result = try Subprocess.runBlocking(
            "/usr/bin/psql",
            ["-h", "127.0.0.1", "-p", String(port), "-U", "outpost", "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            timeout: 60)
        guard result.status == 0 else { throw SubprocessError(result.description) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server at once and removes its directory.
    public func destroy() {
        try? stop(immediate: true)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func asPostgres(_ tool: String, _ arguments: [String], timeout: Double) throws {
        let result = try Subprocess.runBlocking(
            "/usr/sbin/runuser", ["-u", "postgres", "--", Self.binDirectory + "/" + tool] + arguments, timeout: timeout)
        guard result.status == 0 else {
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            throw SubprocessError("\(result.description)\n--- server.log\n\(log.suffix(3000))")
        }
    }

    // MARK: one per process

    /// The process's shared cluster, started by the first caller.
    public static func shared() async throws -> TestPostgres {
        try await SharedPostgres.instance.get()
    }
}

/// Starts the shared cluster once; stops it when the test process exits.
private actor SharedPostgres {
    static let instance = SharedPostgres()
    private var starting: Task<TestPostgres, any Error>?

    func get() async throws -> TestPostgres {
        if let starting { return try await starting.value }
        let task = Task {
            let server = try await TestPostgres.start()
            SharedPostgresExit.register(server)
            return server
        }
        starting = task
        return try await task.value
    }
}

private enum SharedPostgresExit {
    nonisolated(unsafe) static var server: TestPostgres?

    static func register(_ server: TestPostgres) {
        self.server = server
        atexit { SharedPostgresExit.server?.destroy() }
    }
}
