import AMQPSink
import AMQPSource
import Intake
import EventModel
import FileDrop
import Forwarder
import Foundation
import HTTPSink
import IDocFlat
import IDocXML
import LogFormat
import Logging
import Outbox
import OutpostConfig
import RawDocument
import ServiceLifecycle
import SFTPSource
import SQLiteDirectBinding

/// The composition root: the only place that knows every adapter. Turns a loaded
/// configuration into the running services.
enum AgentAssembly {
    /// Every codec this agent can run, by format.
    static let codecs: [DocumentFormat: any DocumentCodec] = [
        .idocXML: IDocXMLCodec(), .idocFlat: IDocFlatCodec(), .raw: RawCodec(),
    ]

    /// Where the outbox database lives inside `data_dir`.
    static func outboxPath(_ config: AgentConfiguration) -> String {
        (config.agent.dataDir as NSString).appendingPathComponent("outbox.sqlite")
    }

    /// The outbox's chunk inserts bound straight to SQLite unless `outbox.direct_binding: false`.
    static func outboxBinder(_ outbox: OutboxConfiguration) -> any OutboxStatementBinder {
        outbox.directBinding ? SQLiteDirectBinder() : GRDBStatementBinder()
    }

    static func format(_ format: SourceFormat) -> DocumentFormat? {
        switch format {
        case .auto: nil
        case .idocXML: .idocXML
        case .idocFlat: .idocFlat
        case .raw: .raw
        }
    }

    static func logLevel(_ level: LoggingConfiguration.Level) -> Logger.Level {
        switch level {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }

    static func bootstrapLogging(_ config: LoggingConfiguration) {
        let level = logLevel(config.level)
        let format: LineLogHandler.Format = config.format == .json ? .json : .logfmt
        LineLogHandler.bootstrap(level: level, format: format)
    }

    /// The sink a `hub:` section describes: the HTTP hub client or the broker publisher.
    static func makeSink(_ hub: HubSinkConfiguration) throws -> any EventSink {
        switch hub.type {
        case .http:
            return try HTTPSink(
                urls: hub.urls, token: try readToken(hub.tokenFile), requestTimeout: hub.requestTimeout,
                tls: HTTPSinkTLS(caFile: hub.caFile, clientCertFile: hub.clientCertFile, clientKeyFile: hub.clientKeyFile),
                maxConnections: hub.maxConcurrency, mode: HTTPSinkMode(rawValue: hub.mode.rawValue) ?? .batch,
                compression: contentCodec(hub.compression), proxy: try proxy(hub))
        case .amqp:
            return AMQPSink(settings: try amqpSinkSettings(hub), logger: Logger(label: "outpost.sink"))
        }
    }

    /// What runs one configured source: its description for logs and its loop.
    static func sourceRunner(
        _ source: SourceConfiguration, intake: OutboxIntake, dataDir: String
    ) throws -> (description: String, body: @Sendable () async throws -> Void) {
        switch source {
        case .fileDrop(let c):
            let settings = fileDropSettings(c)
            try prepareDirectories(settings)
            let drop = FileDropSource(settings: settings, intake: intake, logger: Logger(label: "outpost.source"))
            return ("file_drop \(c.name) (\(c.path))", { try await drop.run() })
        case .sftp(let c):
            let settings = sftpSettings(c, dataDir: dataDir)
            let sftp = SFTPSource(settings: settings, intake: intake, logger: Logger(label: "outpost.source"))
            return ("sftp \(c.name) (\(settings.endpointDescription))", { try await sftp.run() })
        case .amqp(let c):
            let settings = try amqpSourceSettings(c)
            let queue = AMQPSource(settings: settings, intake: intake, logger: Logger(label: "outpost.source"))
            return ("amqp \(c.name) (\(settings.endpoint) queue \(c.queue))", { try await queue.run() })
        }
    }

    /// Reads the hub token file (one line; surrounding white space ignored).
    static func readToken(_ path: String?) throws -> String? {
        guard let path else { return nil }
        if let problem = SecretFilePermissions.problem(path: path, key: "hub.token_file") { throw AssemblyError(problem) }
        do {
            let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw AssemblyError("hub.token_file \(path) is empty; put the agent's bearer token in it") }
            return token
        } catch let error as AssemblyError {
            throw error
        } catch {
            throw AssemblyError("cannot read hub.token_file \(path): \(error.localizedDescription)")
        }
    }

    static func forwarderSettings(_ hub: HubSinkConfiguration) -> ForwarderSettings {
        var s = ForwarderSettings()
        s.batchMaxEvents = hub.batchMaxEvents
        s.batchMaxBytes = hub.batchMaxBytes
        s.maxConcurrency = hub.maxConcurrency
        s.retryInitial = hub.retryInitial
        s.retryMax = hub.retryMax
        return s
    }

    static func fileDropSettings(_ c: FileDropSourceConfiguration) -> FileDropSettings {
        var s = FileDropSettings(
            name: c.name, directory: c.path,
            after: c.after == .delete ? .delete : .archive(directory: c.archiveDir ?? c.path + "/archive"),
            errorDirectory: c.errorDir)
        s.include = c.include
        s.exclude = c.exclude
        s.format = format(c.format)
        s.settle = c.settle
        s.doneMarker = c.doneMarker
        s.maxFileSize = c.maxFileSize
        s.rescanInterval = c.rescanInterval
        return s
    }

    /// Where an SFTP source stages its downloads: `<data_dir>/staging/<source name>`.
    static func stagingDirectory(dataDir: String, source: String) -> String {
        ((dataDir as NSString).appendingPathComponent("staging") as NSString).appendingPathComponent(source)
    }

    static func sftpSettings(_ c: SFTPSourceConfiguration, dataDir: String) -> SFTPSourceSettings {
        // The loader guarantees a host key check and, for `after: move`, an archive directory.
        let hostKeyCheck: SFTPSourceSettings.HostKeyCheck =
            c.hostKeyFingerprint.map { .fingerprint($0) } ?? .knownHosts(file: c.knownHostsFile ?? "")
        let after: SFTPSourceSettings.AfterPickup =
            c.after == .delete ? .delete : .move(directory: c.remoteArchiveDir ?? c.remoteDir + "/archive")
        return SFTPSourceSettings(
            name: c.name, host: c.host, port: c.port, user: c.user, hostKeyCheck: hostKeyCheck,
            remoteDirectory: c.remoteDir, after: after,
            stagingDirectory: stagingDirectory(dataDir: dataDir, source: c.name),
            privateKeyFile: c.privateKeyFile, passphraseFile: c.passphraseFile, passwordFile: c.passwordFile,
            include: c.include, exclude: c.exclude, recursive: c.recursive, pollInterval: c.pollInterval,
            settle: c.settle, doneMarker: c.doneMarker, format: format(c.format), errorDirectory: c.remoteErrorDir,
            maxFileSize: c.maxFileSize)
    }
}

/// A failure to build the agent from its configuration (exit 1 or 2 by the caller).
struct AssemblyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
