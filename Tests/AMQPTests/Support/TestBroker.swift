import AMQPClient
import Foundation
import TestSupport

/// A RabbitMQ node for tests, on 127.0.0.1: its own node name, AMQP/distribution/epmd ports,
/// data and log directories under a temp dir (CONVENTIONS.md "RabbitMQ in a test").
/// `stop()` ends the node and the epmd it used, both by pid.
final class TestBroker: @unchecked Sendable {
    static let serverPath = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    static let ctlPath = "/usr/lib/rabbitmq/bin/rabbitmqctl"

    /// Nil when RabbitMQ is installed; otherwise why the broker tests cannot run.
    static var unavailableReason: String? {
        FileManager.default.isExecutableFile(atPath: serverPath)
            ? nil : "\(serverPath) is absent: install rabbitmq-server (scripts/install-deps.sh --test) to run the AMQP tests"
    }

    let directory: String
    let nodeName: String
    let port: Int
    private let distPort: Int
    private let epmdPort: Int
    private var server: Subprocess?
    private var epmd: Subprocess?

    var url: String { "amqp://127.0.0.1:\(port)/%2f" }
    var endpoint: AMQPEndpoint { try! AMQPEndpoint(url: url) }

    private init() throws {
        directory = NSTemporaryDirectory() + "outpost-rabbit-" + UUID().uuidString.prefix(8).lowercased()
        nodeName = "outposttest\(getpid())x\(UInt16.random(in: 1...9999))@localhost"
        port = try FreePort.pick()
        distPort = try FreePort.pick()
        epmdPort = try FreePort.pick()
        try FileManager.default.createDirectory(atPath: directory + "/log", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/mnesia", withIntermediateDirectories: true)
        try "[].\n".write(toFile: directory + "/enabled_plugins", atomically: true, encoding: .utf8)
    }

    /// Starts a fresh node and waits until it accepts AMQP connections.
    static func start() async throws -> TestBroker {
        let broker = try TestBroker()
        try await broker.boot()
        return broker
    }

    private var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = directory
        env["RABBITMQ_NODENAME"] = nodeName
        env["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1"
        env["RABBITMQ_NODE_PORT"] = String(port)
        env["RABBITMQ_DIST_PORT"] = String(distPort)
        env["ERL_EPMD_PORT"] = String(epmdPort)
        env["ERL_EPMD_ADDRESS"] = "127.0.0.1"
        env["RABBITMQ_MNESIA_BASE"] = directory + "/mnesia"
        env["RABBITMQ_LOG_BASE"] = directory + "/log"
        env["RABBITMQ_ENABLED_PLUGINS_FILE"] = directory + "/enabled_plugins"
        env["RABBITMQ_CONFIG_FILE"] = directory + "/rabbitmq"
        env["RABBITMQ_ADVANCED_CONFIG_FILE"] = directory + "/advanced.config"
        env["RABBITMQ_CONF_ENV_FILE"] = directory + "/rabbitmq-env.conf"
        env["RABBITMQ_PID_FILE"] = directory + "/rabbit.pid"
        return env
    }

    /// Starts the node (again, after ``stop()``, with the same data: durable queues survive).
    func boot() async throws {
        if epmd == nil {
            epmd = try Subprocess(
                "/usr/bin/epmd", ["-port", String(epmdPort), "-address", "127.0.0.1"], environment: environment)
        }
        let process = try Subprocess(
            Self.serverPath, [], stdout: .append(directory + "/server.out"), stderr: .append(directory + "/server.out"),
            environment: environment)
        server = process
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            if !process.isRunning {
                throw BrokerError("rabbitmq-server exited during startup; see \(directory)/server.out and \(directory)/log")
            }
            if let connection = try? await AMQPConnection.open(endpoint) {
                await connection.close()
                return
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw BrokerError("rabbitmq-server did not accept connections on port \(port) within 90 s; see \(directory)/log")
    }

    /// Stops the node gracefully (`rabbitmqctl stop`), or kills it after 30 s.
    func stopNode() async {
        guard let server, server.isRunning else { return }
        let ctl = try? Subprocess(Self.ctlPath, ["-n", nodeName, "stop"], environment: environment)
        if await server.waitForExit(timeout: 30) == nil {
            killVM()
            server.killAndReap()
        }
        ctl?.killAndReap()
        self.server = nil
    }

    /// Stops the node and its epmd and removes the temp dir.
    func stop() async {
        await stopNode()
        epmd?.killAndReap()  // epmd ignores SIGTERM while it serves nodes
        epmd = nil
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Last-resort cleanup at process exit (no waiting): the Erlang VM (by the pid it wrote),
    /// the start script, epmd.
    func killNow() {
        killVM()
        server?.send(SIGKILL)
        epmd?.send(SIGKILL)
    }

    /// SIGKILLs the Erlang VM: the child process of the `rabbitmq-server` script.
    private func killVM() {
        guard let server, server.isRunning else { return }
        let script = server.pid
        let children = (try? String(contentsOfFile: "/proc/\(script)/task/\(script)/children", encoding: .utf8)) ?? ""
        for pid in children.split(separator: " ").compactMap({ Int32($0) }) where pid > 1 {
            kill(pid, SIGKILL)
        }
    }

    func connect() async throws -> AMQPConnection {
        try await AMQPConnection.open(endpoint)
    }
}

struct BrokerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Picks a free TCP port on 127.0.0.1.
enum FreePort {
    static func pick() throws -> Int { try LoopbackPort.free() }
}
