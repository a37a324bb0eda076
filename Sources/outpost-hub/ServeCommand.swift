import ArgumentParser
import Foundation
import HubServer
import Hummingbird
import LogFormat
import Logging
import OutpostConfig
import ServiceLifecycle
import SystemdNotify

/// `outpost-hub serve --config FILE`: runs the hub until SIGINT/SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the hub with the given configuration file.")

    @Option(name: .long, help: "The hub configuration file (YAML).")
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let configuration: HubConfiguration
        do {
            configuration = try ConfigLoader.loadHub(path: config)
        } catch {
            printError("configuration has problems:\n" + error.description)
            throw ExitCode.configurationError
        }
        let level = logLevel
        LogfmtLogHandler.bootstrap(level: level, format: .logfmt)
        var logger = Logger(label: "outpost-hub")
        logger.logLevel = logLevel
        let storage: SQLiteHubStorage
        switch configuration.storage {
        case .postgres:
            printError("\(config): key `storage.postgres`: PostgreSQL storage is not available in this build; use `storage: {sqlite: PATH}`")
            throw ExitCode.configurationError
        case .sqlite(let path):
            storage = try openSQLite(path: path)
        }
        let listening = HubListening()
        let application = try buildApplication(
            configuration: configuration, storage: storage, logger: logger, onServerRunning: { listening.markListening() })
        logger.info("hub.starting", metadata: [
            "hub.listen": "\(configuration.listenHost):\(configuration.listenPort)",
            "hub.agents": "\(configuration.agents.count)",
            "hub.storage": "\(configuration.storage.summary)",
            "hub.tls": "\(configuration.tls == nil ? "off" : configuration.tls?.clientCAFile == nil ? "on" : "mutual")",
        ])
        var services: [any Service] = [application]
        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        if notifier.isEnabled {
            // Last in the group, so it hears of the shutdown first (STOPPING=1).
            services.append(HubSystemdService(
                notifier: notifier, storage: storage, listening: listening, logger: logger))
        }
        let group = ServiceGroup(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        do {
            try await group.run()
        } catch {
            printError("outpost-hub: the hub on \(configuration.listenHost):\(configuration.listenPort) stopped: \(error)")
            throw ExitCode.runtimeFailure
        }
    }

    /// The hub application; a `tls:` file it cannot use is a configuration error (exit 1).
    private func buildApplication(
        configuration: HubConfiguration, storage: some HubStorage, logger: Logger,
        onServerRunning: @escaping @Sendable () async -> Void
    ) throws -> some ApplicationProtocol {
        do {
            return try buildHubApplication(
                configuration: configuration, storage: storage, logger: logger, onServerRunning: onServerRunning)
        } catch {
            printError("\(config): \(error)")
            throw ExitCode.configurationError
        }
    }

    private func openSQLite(path: String) throws -> SQLiteHubStorage {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                printError("\(config): key `storage.sqlite`: cannot create directory \(directory) (\(error.localizedDescription)); create it or choose a writable path")
                throw ExitCode.configurationError
            }
        }
        do {
            return try SQLiteHubStorage(path: path)
        } catch {
            printError("\(config): key `storage.sqlite`: cannot open database \(path) (\(error)); check permissions and free space")
            throw ExitCode.runtimeFailure
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

extension HubConfiguration.Storage {
    /// Where events are stored, without credentials.
    var summary: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres: "postgres"
        }
    }
}
