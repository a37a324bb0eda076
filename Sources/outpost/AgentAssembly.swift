import Agent
import EventModel
import FileDrop
import Forwarder
import Foundation
import HTTPSink
import IDocFlat
import IDocXML
import Logging
import Outbox
import OutpostConfig
import ServiceLifecycle

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
        let format: LogfmtLogHandler.Format = config.format == .json ? .json : .logfmt
        LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level, format: format) }
    }

    /// Reads the hub token file (one line; surrounding white space ignored).
    static func readToken(_ path: String?) throws -> String? {
        guard let path else { return nil }
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
}

/// A failure to build the agent from its configuration (exit 1 or 2 by the caller).
struct AssemblyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
