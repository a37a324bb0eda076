import Foundation
import Logging
import Outbox
import Synchronization

/// Backpressure for intake (README, "What it guarantees"): pauses when the outbox holds `high` undelivered
/// bytes or the data directory's filesystem has less than `minFreeDisk` free, and resumes
/// below `low` with the disk above its floor. While paused, sources leave documents where
/// they are.
public final class IntakeGate: Sendable {
    let outbox: Outbox
    let high: Int64
    let low: Int64
    let minFreeDisk: Int64
    let dataDir: String
    let logger: Logger
    private let paused = Mutex<String?>(nil)

    public init(outbox: Outbox, high: Int64, low: Int64, minFreeDisk: Int64, dataDir: String, logger: Logger) {
        self.outbox = outbox
        self.high = high
        self.low = low
        self.minFreeDisk = minFreeDisk
        self.dataDir = dataDir
        self.logger = logger
    }

    /// Why intake is paused, or nil.
    public var pausedReason: String? { paused.withLock { $0 } }

    /// Returns when intake may go on; re-checks every 250 ms while paused.
    public func waitUntilAccepting() async throws {
        var checks = 0
        while true {
            try Task.checkCancellation()
            if evaluate() == nil { return }
            checks += 1
            // Another process (`outpost dlq purge`) may have freed space: re-read the totals
            // from the database once a second while paused.
            if checks % 4 == 0 { try? outbox.refreshCounters() }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Updates and returns the pause reason.
    @discardableResult
    public func evaluate() -> String? {
        let bytes = outbox.undeliveredBytes
        let free = IntakeGate.freeBytes(at: dataDir)
        let current = paused.withLock { $0 }
        var reason: String?
        if current == nil {
            if bytes >= high {
                reason = "outbox holds \(bytes) undelivered bytes, at or above high_watermark \(high)"
            } else if let free, free < minFreeDisk {
                reason = "only \(free) bytes free on the data directory's filesystem, below min_free_disk \(minFreeDisk)"
            }
        } else {
            let diskOK = free.map { $0 >= minFreeDisk } ?? true
            if bytes >= low || !diskOK {
                reason = current
            }
        }
        if reason != current {
            paused.withLock { $0 = reason }
            if let reason {
                logger.warning("intake.paused", metadata: ["reason": "\(reason)"])
            } else {
                logger.notice("intake.resumed", metadata: ["outpost.outbox_bytes": "\(bytes)"])
            }
            do {
                try outbox.setStateNow(OutboxStateKey.intakePaused, reason)
            } catch {
                logger.error("intake.state_write_failed", metadata: ["error": "\(error)"])
            }
        }
        return reason
    }

    static func freeBytes(at path: String) -> Int64? {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return nil }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }
}
