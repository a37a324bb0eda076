import EventModel
import Foundation
import Logging
import Synchronization

/// The `sftp` source: polls a remote directory over SFTP (libssh2), downloads each ready
/// file to a local staging file, hands it to the agent's ``DocumentIntake``, and moves or
/// deletes it on the server only after its events are committed to the outbox.
///
/// A file is ready when its size and mtime are unchanged across two listings at least
/// `settle` apart, or when its done marker exists. One SSH connection is kept per source
/// and reused across polls; its blocking libssh2 calls run on a dedicated thread. A broken
/// connection is re-established with full-jitter backoff and an interrupted download
/// resumes where it stopped. A host key that is unknown or changed stops this source (the
/// agent and its other sources carry on) until an operator fixes the trust.
public final class SFTPSource: Sendable {
    /// The settings this source runs with.
    public let settings: SFTPSourceSettings
    private let intake: any DocumentIntake
    private let logger: Logger
    private let board = Mutex(SFTPSourceStatus())
    private let running = Atomic<Bool>(false)
    /// See ``init(settings:intake:logger:beforeAcknowledge:)``.
    let beforeAcknowledge: (@Sendable (String) -> Void)?

    /// - Parameters:
    ///   - settings: server, credentials files, directories and timings.
    ///   - intake: the agent side every document (or rejection) is handed to.
    ///   - logger: gets `source` metadata added.
    ///   - beforeAcknowledge: called with a handled file's remote path (under its own name)
    ///     right before the source moves or deletes it (tests put another file under the
    ///     name there).
    public init(
        settings: SFTPSourceSettings, intake: any DocumentIntake, logger: Logger,
        beforeAcknowledge: (@Sendable (String) -> Void)? = nil
    ) {
        self.settings = settings
        self.beforeAcknowledge = beforeAcknowledge
        self.intake = intake
        var logger = logger
        logger[metadataKey: "source"] = .string(settings.name)
        self.logger = logger
    }

    /// A snapshot of what the source has done so far.
    public var status: SFTPSourceStatus { board.withLock { $0 } }

    /// Polls the server and hands over files until the task is cancelled.
    ///
    /// Returns normally on cancellation; a file whose submission has returned is
    /// acknowledged first when the connection allows. When the host key is refused the
    /// source logs why and how to fix it, publishes it in ``status``, and waits for
    /// cancellation without connecting again.
    ///
    /// - Throws: ``SFTPSourceError`` when already running or the staging directory is unusable.
    public func run() async throws {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw SFTPSourceError.alreadyRunning(source: settings.name)
        }
        defer { running.store(false, ordering: .releasing) }
        try StagingArea(directory: settings.stagingDirectory).prepare()
        let client = SFTPClient(settings: settings)
        let poller = SFTPSourceRun(settings: settings, intake: intake, logger: logger, client: client, source: self)
        logger.info("source.started", metadata: ["outpost.server": .string(settings.endpointDescription)])

        let backoff = ReconnectBackoff(initial: settings.reconnectInitial, maximum: settings.reconnectMax)
        var failures = 0
        while !Task.isCancelled {
            do {
                try await poller.poll()
                failures = 0
            } catch .hostKey(let detail) {
                logger.critical("sftp.host_key_refused", metadata: ["error": .string(detail), "hint": "this source stays stopped until the trust is fixed and the agent restarted"])
                updateStatus {
                    $0.connected = false
                    $0.stoppedReason = detail
                }
                await client.shutdown()
                await Self.sleepUntilCancelled()
                return
            } catch .cancelled {
                break
            } catch {
                failures += 1
                poller.connectionLost()
                let delay = backoff.delay(afterFailures: failures)
                let metadata: Logger.Metadata = [
                    "outpost.server": .string(settings.endpointDescription), "error": .string(error.description),
                    "outpost.retry_in": "\((delay * 1000).rounded() / 1000)s",
                ]
                if failures == 1 {
                    logger.error("sftp.connection_failed", metadata: metadata)
                } else {
                    logger.warning("sftp.connection_failed", metadata: metadata)
                }
                updateStatus {
                    $0.connected = false
                    $0.lastError = error.description
                }
                guard (try? await Task.sleep(for: .seconds(delay))) != nil else { break }
                continue
            }
            guard await idle(client, seconds: poller.nextListingDelay(now: .now)) else { break }
        }
        await client.shutdown()
        logger.info("source.stopped")
    }

    /// Sleeps `seconds` (`poll_interval`, or less when a file is about to settle), sending
    /// keepalives on a long interval. Returns `false` on cancellation.
    private func idle(_ client: SFTPClient, seconds: Double) async -> Bool {
        var remaining = seconds
        while remaining > 0 {
            let step = min(remaining, settings.keepaliveInterval)
            guard (try? await Task.sleep(for: .seconds(step))) != nil else { return false }
            remaining -= step
            if remaining > 0 { await client.keepalive() }
        }
        return true
    }

    private static func sleepUntilCancelled() async {
        while (try? await Task.sleep(for: .seconds(3600))) != nil {}
    }

    /// Applies `change` to the published status.
    func updateStatus(_ change: (inout SFTPSourceStatus) -> Void) {
        board.withLock { change(&$0) }
    }

    /// Seconds since 1970.
    static func wallClock() -> Double { Date().timeIntervalSince1970 }
}
