import Foundation
import Glibc
import Synchronization
import TestSupport

/// A throwaway OpenSSH `sshd` on 127.0.0.1 (CONVENTIONS.md recipe): own host key, config,
/// authorized keys and log in a temporary directory; logins as an unprivileged test user
/// so that file permissions apply; killed by pid (with its session processes) afterwards.
final class TestSSHServer: @unchecked Sendable {
    static let sshd = "/usr/sbin/sshd"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: sshd) }
    static let user = "outpostsftp"
    static let password = "outpost-sftp-test-password"

    /// The temporary directory holding everything of this server.
    let directory: String
    /// A world-writable directory the tests use as the remote side.
    let remoteRoot: String
    let port: Int
    private let config: String
    private let process = Mutex<Subprocess?>(nil)

    /// - Parameters:
    ///   - logRequests: run OpenSSH's `sftp-server` program (instead of the one built into
    ///     sshd), logging every request it serves into ``requestLog``.
    ///   - maxSessions: sessions (SFTP channels) sshd allows per connection.
    ///   - deniedRequests: SFTP requests the server refuses (`internal-sftp -P`), e.g. `rename`.
    init(logRequests: Bool = false, maxSessions: Int = 100, deniedRequests: String? = nil) throws {
        try Self.ensureUser()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sftp-\(UUID().uuidString)").path
        remoteRoot = directory + "/remote"
        try FileManager.default.createDirectory(atPath: remoteRoot, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        chmod(remoteRoot, 0o777)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        try Self.shell("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", directory + "/host_ed25519")
        FileManager.default.createFile(atPath: directory + "/authorized_keys", contents: Data())
        chmod(directory + "/authorized_keys", 0o644)
        port = try Self.freePort()
        config = directory + "/sshd_config"
        let text = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(directory)/host_ed25519
            PidFile \(directory)/sshd.pid
            AuthorizedKeysFile \(directory)/authorized_keys
            StrictModes no
            UsePAM no
            PasswordAuthentication yes
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PubkeyAcceptedAlgorithms +ssh-rsa
            AllowUsers \(Self.user)
            MaxStartups 100
            MaxSessions \(maxSessions)
            LogLevel VERBOSE
            Subsystem sftp \(logRequests ? Self.loggingSFTPServer(into: requestLog) : "internal-sftp")\(deniedRequests.map { " -P " + $0 } ?? "")

            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        try start()
    }

    deinit { stop() }

    /// Where a server started with `logRequests` logs the SFTP requests it serves.
    var requestLog: String { directory + "/sftp-requests.log" }

    /// The `Subsystem` command for an `sftp-server` whose debug log (one line per request)
    /// goes to `path`: its own stderr would go to the client, so the login shell redirects it.
    private static func loggingSFTPServer(into path: String) -> String {
        FileManager.default.createFile(atPath: path, contents: Data())
        chmod(path, 0o666)
        return "/usr/lib/openssh/sftp-server -e -l DEBUG1 2>>\(path)"
    }

    /// Starts sshd and waits until it accepts connections.
    func start() throws {
        let sshd = try Subprocess(Self.sshd, ["-D", "-f", config, "-E", directory + "/sshd.log"])
        process.withLock { $0 = sshd }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if LoopbackPort.accepts(port) { return }
            if !sshd.isRunning { break }
            usleep(20_000)
        }
        throw TestFailure("sshd did not start on port \(port); see \(directory)/sshd.log")
    }

    /// Kills sshd and every session process it forked (SIGKILL, by pid), like a crash.
    func kill() {
        guard let sshd = process.withLock({ current -> Subprocess? in
            defer { current = nil }
            return current
        }) else { return }
        for child in Self.descendants(of: sshd.pid).reversed() { Glibc.kill(child, SIGKILL) }
        sshd.killAndReap()
    }

    func stop() { kill() }

    /// Stops (SIGSTOP) or continues (SIGCONT) every session process: requests sent meanwhile
    /// get no reply until it continues.
    func pauseSessions(_ paused: Bool) {
        guard let sshd = process.withLock({ $0 }) else { return }
        for child in Self.descendants(of: sshd.pid) { Glibc.kill(child, paused ? SIGSTOP : SIGCONT) }
    }

    /// The session process sshd started last (by start time): the one serving the channel
    /// opened last, as each SFTP channel gets a process of its own.
    func newestSessionProcess() -> Int32? {
        guard let sshd = process.withLock({ $0 }) else { return nil }
        // Field 22 of /proc/PID/stat: the start time, in clock ticks since boot.
        let started = Self.descendants(of: sshd.pid).map { (ticks: UInt64(Self.statField(22, of: $0) ?? "") ?? 0, pid: $0) }
        return started.max { ($0.ticks, $0.pid) < ($1.ticks, $1.pid) }?.pid
    }

    /// `[127.0.0.1]:port ssh-ed25519 AAAA…`
    var knownHostsLine: String {
        get throws {
            let key = try String(contentsOfFile: directory + "/host_ed25519.pub", encoding: .utf8)
            let parts = key.split(separator: " ")
            return "[127.0.0.1]:\(port) \(parts[0]) \(parts[1])\n"
        }
    }

    /// The host key fingerprint as `ssh-keygen -lf` prints it.
    var fingerprint: String {
        get throws {
            let output = try Self.shell("ssh-keygen", "-lf", directory + "/host_ed25519.pub")
            return String(output.split(separator: " ")[1])
        }
    }

    /// Writes a known_hosts file (optionally hashed with `ssh-keygen -H`) and returns its path.
    func writeKnownHosts(hashed: Bool = false, contents: String? = nil) throws -> String {
        let path = directory + "/known_hosts-\(UUID().uuidString)"
        try (contents ?? knownHostsLine).write(toFile: path, atomically: true, encoding: .utf8)
        if hashed { try Self.shell("ssh-keygen", "-q", "-H", "-f", path) }
        return path
    }

    /// Generates a client key, authorizes it, and returns the private key path.
    func authorizeKey(type: String, passphrase: String = "") throws -> String {
        let path = directory + "/client_\(type)_\(UUID().uuidString.prefix(8))"
        var args = ["-q", "-t", type, "-N", passphrase, "-f", path]
        if type == "rsa" { args += ["-b", "2048"] }
        try Self.shell(["ssh-keygen"] + args)
        let publicKey = try String(contentsOfFile: path + ".pub", encoding: .utf8)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/authorized_keys"))
        handle.seekToEndOfFile()
        handle.write(Data(publicKey.utf8))
        try handle.close()
        return path
    }

    /// Writes `text` into `path` (a secret file for the source).
    func writeSecret(_ text: String, name: String) throws -> String {
        let path = directory + "/" + name
        try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    // MARK: helpers

    /// Creates the login user once per process (idempotent across runs).
    private static let userReady: Result<Void, TestFailure> = {
        do {
            if (try? shell("id", "-u", user)) == nil {
                try shell("useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", user)
            }
            try shell(["sh", "-c", "echo '\(user):\(password)' | chpasswd"])
            return .success(())
        } catch {
            return .failure(TestFailure("cannot create the SFTP test user \(user) (tests must run as root): \(error)"))
        }
    }()

    private static func ensureUser() throws { try userReady.get() }

    @discardableResult
    static func shell(_ args: String...) throws -> String { try shell(args) }

    @discardableResult
    static func shell(_ args: [String]) throws -> String {
        let result = try Subprocess.runBlocking(args[0], Array(args.dropFirst()), timeout: 60)
        let text = result.stdout + result.stderr
        guard result.status == 0 else { throw TestFailure("\(args.joined(separator: " ")) failed: \(text)") }
        return text
    }

    static func freePort() throws -> Int { try LoopbackPort.free() }

    /// Field `number` (counted from 1, as proc(5) does) of `/proc/<pid>/stat`, read after the
    /// name in parentheses (which may hold spaces); nil when the process is gone.
    private static func statField(_ number: Int, of pid: Int32) -> Substring? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // The fields after the name start with field 3 (the state).
        return fields.count > number - 3 ? fields[number - 3] : nil
    }

    /// Every process below `pid`, parents before children (read from /proc).
    private static func descendants(of pid: Int32) -> [Int32] {
        var parents: [Int32: [Int32]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            // Field 4 of /proc/PID/stat: the parent's pid.
            guard let child = Int32(name), let parent = statField(4, of: child).flatMap({ Int32($0) }) else { continue }
            parents[parent, default: []].append(child)
        }
        var result: [Int32] = []
        var queue = [pid]
        while let next = queue.popLast() {
            for child in parents[next] ?? [] {
                result.append(child)
                queue.append(child)
            }
        }
        return result
    }
}

/// A failed test precondition, with what to do about it.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
