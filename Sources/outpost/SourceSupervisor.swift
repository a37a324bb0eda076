import Intake
import Foundation
import Logging
import OutpostConfig
import ServiceLifecycle
import Synchronization

/// Runs the configured sources, each in its own task, and applies a reloaded list: a source
/// removed is stopped, one added is started, one whose settings changed is stopped and then
/// started again; the others run on untouched. A source stops as it does at shutdown: between
/// documents, never leaving one half-handled. A source that fails stops the agent, as before.
final class SourceSupervisor: Service, Sendable, CustomStringConvertible {
    typealias Runner = @Sendable (SourceConfiguration) throws -> (description: String, body: @Sendable () async throws -> Void)

    private struct Running {
        var configuration: SourceConfiguration
        var description: String
        var task: Task<Void, any Error>
    }

    private let runner: Runner
    private let logger: Logger
    private let running = Mutex<[String: Running]>([:])
    private let failure: AsyncStream<any Error>
    private let reportFailure: AsyncStream<any Error>.Continuation

    var description: String { "sources" }

    /// The running sources' names, in order.
    var names: [String] { running.withLock { $0.keys.sorted() } }

    init(runner: @escaping Runner, logger: Logger) {
        self.runner = runner
        self.logger = logger
        (failure, reportFailure) = AsyncStream.makeStream(of: (any Error).self)
    }

    /// What `apply` did, by source name.
    struct Changes: Sendable, Equatable {
        var started: [String] = []
        var stopped: [String] = []
        var restarted: [String] = []
        var isEmpty: Bool { started.isEmpty && stopped.isEmpty && restarted.isEmpty }
    }

    /// Brings the running sources to `sources`. Every new runner is built before anything is
    /// stopped, so a source that cannot be built leaves the running ones as they are.
    func apply(_ sources: [SourceConfiguration]) async throws -> Changes {
        let current = running.withLock { $0.mapValues(\.configuration) }
        var changes = Changes()
        var toStart: [(SourceConfiguration, String, @Sendable () async throws -> Void)] = []
        for source in sources where current[source.name] != source {
            let built = try runner(source)
            toStart.append((source, built.description, built.body))
            if current[source.name] == nil { changes.started.append(source.name) } else { changes.restarted.append(source.name) }
        }
        let wanted = Set(sources.map(\.name))
        changes.stopped = current.keys.filter { !wanted.contains($0) }.sorted()
        for name in changes.stopped + changes.restarted { await stop(name) }
        for (source, description, body) in toStart { start(source, description: description, body: body) }
        return changes
    }

    private func start(_ source: SourceConfiguration, description: String, body: @escaping @Sendable () async throws -> Void) {
        let name = source.name
        let (logger, reportFailure) = (logger, reportFailure)
        let task = Task {
            do {
                try await body()
            } catch is CancellationError {
            } catch {
                guard !Task.isCancelled else { return }
                logger.critical("source.failed", metadata: ["outpost.source": "\(name)", "error": "\(error)"])
                reportFailure.yield(error)
                throw error
            }
        }
        running.withLock { $0[name] = Running(configuration: source, description: description, task: task) }
        logger.info("source.started", metadata: ["outpost.source": "\(description)"])
    }

    private func stop(_ name: String) async {
        guard let source = running.withLock({ $0.removeValue(forKey: name) }) else { return }
        source.task.cancel()
        _ = await source.task.result
        logger.info("source.stopped", metadata: ["outpost.source": "\(source.description)"])
    }

    /// Runs until graceful shutdown (then stops every source) or until a source fails (then
    /// throws, which stops the agent).
    func run() async throws {
        var failed: (any Error)?
        await withGracefulShutdownHandler {
            for await error in failure {
                failed = error
                break
            }
        } onGracefulShutdown: {
            self.reportFailure.finish()
        }
        for name in running.withLock({ Array($0.keys) }) { await stop(name) }
        if let failed { throw failed }
    }
}
