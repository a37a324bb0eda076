import EventModel
import Logging
import Synchronization

/// The `file_drop` source: picks up files a batch job drops into a local directory, hands
/// each to the agent's ``DocumentIntake``, and archives or deletes it only after its events
/// are committed to the outbox.
///
/// Discovery combines inotify (read on a dedicated thread) with a scan at start and a full
/// rescan every `rescanInterval`. A file is picked up once its size and mtime have been
/// unchanged for `settle` seconds and no process has it open for writing (see
/// ``OpenWriterProbe`` for the layered check), oldest mtime first, one file at a time.
/// Symlinks are never followed, other non-regular entries and oversized files are
/// quarantined without being read, and a failed submission leaves the file in place to be
/// retried with backoff: no file is ever lost or overwritten. Only the very file that was
/// read is archived, deleted or quarantined: a file a writer puts under the same name while
/// the first is read or committed stays for the next pickup.
public final class FileDropSource: Sendable {
    /// The settings this source runs with.
    public let settings: FileDropSettings
    private let intake: any DocumentIntake
    private let logger: Logger
    private let board = Mutex(FileDropStatus())
    private let running = Atomic<Bool>(false)
    /// See ``init(settings:intake:logger:beforeClaim:)``.
    let beforeClaim: (@Sendable (String) -> Void)?

    /// - Parameters:
    ///   - settings: directory, patterns, timings and where files go afterwards.
    ///   - intake: the agent side every document (or rejection) is handed to.
    ///   - logger: gets `source` metadata added.
    ///   - beforeClaim: called with a file's name right before a handled file is claimed to be
    ///     archived, deleted or quarantined (tests put another file under the name there).
    public init(
        settings: FileDropSettings, intake: any DocumentIntake, logger: Logger,
        beforeClaim: (@Sendable (String) -> Void)? = nil
    ) {
        self.settings = settings
        self.beforeClaim = beforeClaim
        self.intake = intake
        var logger = logger
        logger[metadataKey: "source"] = .string(settings.name)
        self.logger = logger
    }

    /// A snapshot of what the source has done so far.
    public var status: FileDropStatus { board.withLock { $0 } }

    /// Watches the directory and hands over files until the task is cancelled.
    ///
    /// Cancellation is cooperative: a file whose submission has returned is acknowledged
    /// (archived, deleted or quarantined) before `run()` returns; a file not yet submitted
    /// stays in place. Returns normally on cancellation.
    ///
    /// - Throws: ``FileDropError/alreadyRunning(source:)`` when called while already running.
    public func run() async throws {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw FileDropError.alreadyRunning(source: settings.name)
        }
        defer { running.store(false, ordering: .releasing) }

        let watcher = DirectoryWatcher()
        let processor = FileDropRun(
            settings: settings, intake: intake, logger: logger, watcher: watcher, source: self)
        watcher.start()
        defer { watcher.stop() }
        logger.info("source.started", metadata: ["directory": .string(settings.directory)])

        await processor.step(DirectoryWatcher.Pending())
        watcher.wake(at: processor.nextWake(now: SystemTime.monotonic()))
        for await _ in watcher.signals {
            if Task.isCancelled { break }
            await processor.step(watcher.drain())
            watcher.wake(at: processor.nextWake(now: SystemTime.monotonic()))
        }
        logger.info("source.stopped")
    }

    /// Applies `change` to the published status.
    func updateStatus(_ change: (inout FileDropStatus) -> Void) {
        board.withLock { change(&$0) }
    }
}
