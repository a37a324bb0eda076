import Foundation
import GRDB
import Synchronization

/// Copies the outbox's write-ahead log back into the database file on a connection and a
/// thread of its own, so that a commit does not wait for it.
///
/// SQLite's own checkpoint runs inside the commit that crosses its threshold, on the
/// writer's thread: every few files one commit would also write megabytes into the database
/// file and fsync it. Here the writer's automatic checkpoint is only a backstop (at
/// ``Outbox/backstopLogBytes``); after every ``threshold`` bytes of new events this
/// runs a passive checkpoint, which never blocks the writer or the readers, on another core.
/// A checkpoint that fails (a full disk) is simply tried again after the next threshold;
/// the backstop still bounds the log.
final class OutboxCheckpointer: Sendable {
    /// New event bytes between two checkpoints.
    static let threshold: Int64 = 4 << 20

    private let path: String
    private let queue = DispatchQueue(label: "outpost.outbox.checkpoint", qos: .utility)
    private let state = Mutex<(bytesSince: Int64, running: Bool)>((0, false))

    init(path: String) {
        self.path = path
    }

    /// Notes a commit of `bytes` new event bytes; starts a checkpoint when enough piled up.
    func committed(bytes: Int64) {
        let start = state.withLock { state -> Bool in
            state.bytesSince += bytes
            guard !state.running, state.bytesSince >= OutboxCheckpointer.threshold else { return false }
            state = (0, true)
            return true
        }
        guard start else { return }
        queue.async { [self] in
            checkpoint()
            state.withLock { $0.running = false }
        }
    }

    /// Returns once a running checkpoint has finished (without blocking a thread).
    func drain() async {
        await withCheckedContinuation { continuation in queue.async { continuation.resume() } }
    }

    /// One passive checkpoint on a connection opened for it and closed right after: between
    /// checkpoints the outbox's own pool holds the only connections. Whichever closes last,
    /// the pool or a checkpoint still running, checkpoints the whole log and removes it, as
    /// on a clean stop it must; no connection outlives its use.
    private func checkpoint() {
        guard let connection = try? Self.connection(path: path, label: "outbox.checkpoint") else { return }
        _ = try? connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
        try? connection.close()
    }

    /// A writable connection of its own, for one checkpoint.
    static func connection(path: String, label: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.label = label
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // FULL: the checkpoint syncs the log before and the database file after copying.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return try DatabaseQueue(path: path, configuration: config)
    }
}
