import AMQPSink
import AMQPSource
import Agent
import AgentAdmin
import ArgumentParser
import EventModel
import FileDrop
import Forwarder
import Foundation
import HTTPSink
import Logging
import Outbox
import OutpostConfig
import ServiceLifecycle
import SFTPSource

/// `outpost run --config FILE`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the agent until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try LoadedConfig.agent(options.config, checkEnvironment: true)
        AgentAssembly.bootstrapLogging(config.logging)
        let metricsRegistry = AgentOperations.bootstrapMetrics()
        let logger = Logger(label: "outpost")

        let lock: DataDirLock
        do {
            lock = try DataDirLock(dataDir: config.agent.dataDir)
        } catch {
            throw CommandFailure.runtime("\(error)")
        }
        defer { lock.release() }

        let outbox: Outbox
        do {
            outbox = try Outbox(path: AgentAssembly.outboxPath(config))
        } catch {
            throw CommandFailure.runtime("\(error)")
        }

        let sink: any EventSink
        do {
            switch config.hub.type {
            case .http:
                sink = try HTTPSink(
                    urls: config.hub.urls, token: try AgentAssembly.readToken(config.hub.tokenFile),
                    requestTimeout: config.hub.requestTimeout,
                    tls: HTTPSinkTLS(caFile: config.hub.caFile, clientCertFile: config.hub.clientCertFile,
                                     clientKeyFile: config.hub.clientKeyFile),
                    maxConnections: config.hub.maxConcurrency,
                    mode: HTTPSinkMode(rawValue: config.hub.mode.rawValue) ?? .batch,
                    compression: AgentAssembly.contentCodec(config.hub.compression),
                    proxy: try AgentAssembly.proxy(config.hub))
            case .amqp:
                sink = AMQPSink(
                    settings: try AgentAssembly.amqpSinkSettings(config.hub), logger: Logger(label: "outpost.sink"))
            }
        } catch {
            throw CommandFailure.user("\(options.config): \(error)")
        }
        let forwarder = Forwarder(
            outbox: outbox, sink: sink, settings: AgentAssembly.forwarderSettings(config.hub),
            logger: Logger(label: "outpost.forwarder"))
        let gate = IntakeGate(
            outbox: outbox, high: config.outbox.highWatermark, low: config.outbox.lowWatermark,
            minFreeDisk: config.outbox.minFreeDisk, dataDir: config.agent.dataDir,
            logger: Logger(label: "outpost.intake"))
        let intake = OutboxIntake(
            outbox: outbox, codecs: AgentAssembly.codecs, agentID: config.agent.id, region: config.agent.region,
            gate: gate, logger: Logger(label: "outpost.intake"), onCommit: { forwarder.notify() })

        // Services stop in reverse order: sources first, the forwarder last so it can drain.
        var services: [any Service] = [
            ForwarderService(forwarder: forwarder, sinkDescription: sink.description),
            MaintenanceService(
                outbox: outbox, retainDelivered: config.outbox.retainDelivered, gate: gate,
                logger: Logger(label: "outpost.outbox")),
        ]
        for source in config.sources {
            switch source {
            case .fileDrop(let c):
                let settings = AgentAssembly.fileDropSettings(c)
                try AgentAssembly.prepareDirectories(settings)
                let drop = FileDropSource(settings: settings, intake: intake, logger: Logger(label: "outpost.source"))
                services.append(SourceService(description: "file_drop \(c.name) (\(c.path))") { try await drop.run() })
            case .sftp(let c):
                let settings = AgentAssembly.sftpSettings(c, dataDir: config.agent.dataDir)
                let sftp = SFTPSource(settings: settings, intake: intake, logger: Logger(label: "outpost.source"))
                services.append(SourceService(description: "sftp \(c.name) (\(settings.endpointDescription))") { try await sftp.run() })
            case .amqp(let c):
                let settings: AMQPSourceSettings
                do {
                    settings = try AgentAssembly.amqpSourceSettings(c)
                } catch {
                    throw CommandFailure.user("\(options.config): \(error)")
                }
                let queue = AMQPSource(settings: settings, intake: intake, logger: Logger(label: "outpost.source"))
                services.append(SourceService(description: "amqp \(c.name) (\(settings.endpoint) queue \(c.queue))") {
                    try await queue.run()
                })
            }
        }
        services += try AgentAssembly.operationsServices(
            config, registry: metricsRegistry, outbox: outbox, forwarder: forwarder, gate: gate, intake: intake)

        let group = ServiceGroup(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        logger.info("agent.started", metadata: [
            "outpost.agent": "\(config.agent.id)", "outpost.region": "\(config.agent.region)",
            "outpost.version": "\(OutpostVersion.current)",
            "outpost.sources": "\(config.sources.count)", "outpost.hub": "\(sink.description)",
        ])
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            logger.critical("agent.failed", metadata: ["error": "\(error)"])
            failure = error
        }
        await sink.shutdown()
        await Self.close(outbox, logger: logger)
        if let failure { throw CommandFailure.runtime("\(failure)") }
        logger.info("agent.stopped")
    }
}

extension RunCommand {
    /// Closes the outbox once every service has stopped. A failure loses nothing (the log is
    /// still there, and SQLite replays it at the next start), so it is only logged.
    static func close(_ outbox: Outbox, logger: Logger) async {
        do {
            try await outbox.close()
        } catch {
            logger.warning("outbox.close_failed", metadata: [
                "error": "\(error)", "outpost.outbox": "\(outbox.path)",
            ])
        }
    }
}

extension AgentAssembly {
    /// Creates the archive and error directories when they are missing.
    static func prepareDirectories(_ settings: FileDropSettings) throws {
        var dirs = [settings.errorDirectory]
        if case .archive(let dir) = settings.after { dirs.append(dir) }
        for dir in dirs {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw CommandFailure.user("cannot create \(dir) for source \(settings.name): \(error.localizedDescription)")
            }
        }
    }
}
