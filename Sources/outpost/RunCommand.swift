import AgentAdmin
import ArgumentParser
import FileDrop
import Foundation
import Logging
import OutpostConfig
import ProcessMemory

/// `outpost run --config FILE`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the agent until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        ProcessHeap.prepareForBatches()
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

        let application = try await AgentApplication(configuration: config, path: options.config, metrics: metricsRegistry)
        if let failure = await application.run(logger: logger) { throw CommandFailure.runtime("\(failure)") }
        logger.info("agent.stopped")
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
