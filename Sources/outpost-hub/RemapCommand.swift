import ArgumentParser
import EventModel
import Foundation
import HubServer
import LogFormat
import Logging
import OutpostConfig

/// `outpost-hub remap --config FILE [--since TIME]`: recomputes the canonical documents from
/// the stored events after a mapping profile changed; agents send nothing again.
struct RemapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remap",
        abstract: "Map stored events again with the configured profiles (all, or those that arrived since a time).")

    @Option(name: .long, help: "The hub configuration file (YAML).")
    var config: String

    @Option(name: .long, help: "Remap events that arrived at or after this time (RFC 3339, or YYYY-MM-DD in UTC); default: all.")
    var since: String?

    func run() async throws {
        let configuration = try HubConfigurationFile.load(config)
        var sinceDate: Date?
        if let since {
            guard let date = Self.time(since) else {
                printError("--since \(since) is not a time; write RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01)")
                throw ExitCode.configurationError
            }
            sinceDate = date
        }
        LineLogHandler.bootstrap(level: .notice, format: .logfmt)
        let logger = Logger(label: "outpost-hub")
        switch configuration.storage {
        case .sqlite(let path):
            guard FileManager.default.fileExists(atPath: path) else {
                printError("\(config): key `storage.sqlite`: \(path) does not exist; nothing is stored to remap")
                throw ExitCode.configurationError
            }
            try await remap(try SQLiteHubStorage(path: path), configuration: configuration, since: sinceDate, logger: logger)
        case .postgres(let settings):
            let storage = try PostgresHubStorage(settings: settings, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { await storage.run() }
                defer { tasks.cancelAll() }
                try await storage.prepare()
                try await remap(storage, configuration: configuration, since: sinceDate, logger: logger)
            }
        }
    }

    private func remap(_ storage: any CanonicalStorage, configuration: HubConfiguration, since: Date?, logger: Logger) async throws {
        let dropped = try await storage.resetMapping(since: since, tolerancePercent: configuration.mapping.tolerancePercent)
        let service = MappingWorker.mappingService(storage: storage, settings: configuration.mapping, logger: logger)
        let progress = try await service.catchUp()
        print("remapped \(progress.events) events\(since.map { " stored since \($0.rfc3339Text)" } ?? ""): \(progress.mapped) canonical documents, \(progress.failed) failed mappings (\(dropped) earlier versions replaced)")
    }

    /// RFC 3339, or a date (`YYYY-MM-DD`, midnight UTC).
    static func time(_ text: String) -> Date? {
        (RFC3339.parse(text) ?? (text.count == 10 ? RFC3339.parse(text + "T00:00:00Z") : nil)).map(Date.init(timeIntervalSince1970:))
    }
}

extension Date {
    fileprivate var rfc3339Text: String { RFC3339.format(timeIntervalSince1970) }
}
