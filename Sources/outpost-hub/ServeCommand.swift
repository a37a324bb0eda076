import ArgumentParser
import ContentCoding
import Foundation
import HubServer
import Hummingbird
import LogFormat
import Logging
import OutpostConfig
import ProcessMemory
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
        ProcessHeap.prepareForBatches()
        let configuration = try HubConfigurationFile.load(config)
        let level = logLevel
        LineLogHandler.bootstrap(level: level, format: .logfmt)
        var logger = Logger(label: "outpost-hub")
        logger.logLevel = logLevel
        if configuration.readAccess == .open {
            logger.warning("hub.reads_open", metadata: [
                "hub.detail": "read_access is open: anyone who reaches the port reads every stored document",
            ])
        } else if configuration.readTokenSHA256 == nil {
            logger.notice("hub.reads_locked", metadata: [
                "hub.detail": "no read_token_sha256: GET /v1/* and the dashboard answer 401 until one is configured",
            ])
        }
        let files = FileDescriptorBudget.ensure(maxConnections: configuration.maxConnections)
        if !files.suffices {
            logger.warning("hub.file_limit_low", metadata: [
                "hub.detail": "the process may open \(files.limit) files, fewer than max_connections (\(configuration.maxConnections)) + \(FileDescriptorBudget.reserve): accepts can fail for every agent; raise LimitNOFILE (ulimit -n) or lower max_connections",
            ])
        }
        switch configuration.storage {
        case .postgres(let settings):
            let storage: PostgresHubStorage
            do {
                storage = try PostgresHubStorage(settings: settings, logger: logger)
            } catch {
                printError("\(config): \(error)")
                throw ExitCode.configurationError
            }
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { await storage.run() }
                defer { tasks.cancelAll() }
                do {
                    try await storage.prepare()
                } catch {
                    printError("\(config): key `storage.postgres`: cannot use the database (\(PostgresHubStorage.storageError(error)))")
                    throw ExitCode.runtimeFailure
                }
                try await serve(configuration: configuration, storage: storage, logger: logger, extra: [
                    PartitionMaintenance(storage: storage, logger: logger),
                ])
            }
        case .sqlite(let path):
            try await serve(configuration: configuration, storage: try openSQLite(path: path), logger: logger, extra: [])
        }
    }

    private func serve(configuration: HubConfiguration, storage: some HubStorage, logger: Logger, extra: [any Service]) async throws {
        let listening = HubListening()
        let agents = HubAgentDirectory(configuration.agents)
        let application = try buildApplication(
            configuration: configuration, storage: storage, logger: logger, agents: agents,
            onServerRunning: { listening.markListening() })
        logger.info("hub.starting", metadata: [
            "hub.listen": "\(configuration.listenHost):\(configuration.listenPort)",
            "hub.agents": "\(configuration.agents.count)",
            "hub.max_connections": "\(configuration.maxConnections)",
            "hub.storage": "\(configuration.storage.summary)",
            "hub.tls": "\(configuration.tls == nil ? "off" : configuration.tls?.clientCAFile == nil ? "on" : "mutual")",
        ])
        var services: [any Service] = extra + [application]
        var mapping: MappingWorker?
        if configuration.mapping.enabled, let canonical = storage as? any CanonicalStorage {
            let worker = MappingWorker(storage: canonical, settings: configuration.mapping, logger: logger)
            mapping = worker
            services.insert(worker, at: 0)
        }
        services.append(HubReloadService(path: config, configuration: configuration, agents: agents, mapping: mapping, logger: logger))
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
        configuration: HubConfiguration, storage: some HubStorage, logger: Logger, agents: HubAgentDirectory,
        onServerRunning: @escaping @Sendable () async -> Void
    ) throws -> some ApplicationProtocol {
        do {
            return try buildHubApplication(
                configuration: configuration, storage: storage, logger: logger, agents: agents,
                contentCodecs: ContentCodecs.all, onServerRunning: onServerRunning)
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
        } catch let error as NewerSchemaError {
            printError("\(config): key `storage.sqlite`: \(error)")
            throw ExitCode.runtimeFailure
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
        case .postgres(let settings): "postgres:" + PostgresHubStorage.redactedURL(settings.url)
        }
    }
}
