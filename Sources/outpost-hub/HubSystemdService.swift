import Foundation
import HubServer
import Logging
import ServiceLifecycle
import Synchronization
import SystemdNotify

/// The hub's side of `Type=notify`: `READY=1` once the listener is bound, `STATUS=` with the
/// stored event count, `WATCHDOG=1` only while the storage accepts a write (so a hung
/// database gets the hub restarted), `STOPPING=1` at shutdown.
struct HubSystemdService<Storage: HubStorage>: Service, CustomStringConvertible {
    let description = "systemd notify"
    let notifier: SystemdNotifier
    let storage: Storage
    let listening: HubListening
    let logger: Logger
    let statusInterval: Double = 10

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !listening.isListening { try await Task.sleep(for: .milliseconds(50)) }
                notifier.ready(status: await statusLine())
                try await loop()
            }
        } catch is CancellationError {}
        notifier.stopping(status: "stopping: finishing requests in flight")
    }

    private func loop() async throws {
        let tick = min(statusInterval, notifier.watchdogInterval.map { $0 / 2 } ?? statusInterval)
        var withheld = false
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(Int(tick * 1000)))
            if notifier.watchdogInterval != nil {
                do {
                    try await storage.checkWritable()
                    notifier.watchdog()
                    if withheld { logger.notice("watchdog.resumed") }
                    withheld = false
                } catch {
                    if !withheld { logger.error("watchdog.withheld", metadata: ["error": "storage cannot write: \(error)"]) }
                    withheld = true
                    notifier.status("storage cannot write: \(error)")
                    continue
                }
            }
            notifier.status(await statusLine())
        }
    }

    private func statusLine() async -> String {
        guard let statistics = try? await storage.statistics(recentRejections: 0) else { return "storage unreadable" }
        return "\(statistics.events) events stored from \(statistics.agents.count) agents, \(statistics.duplicatesDropped) duplicates dropped"
    }
}

/// Set once the hub's listener is bound (Hummingbird's `onServerRunning`).
final class HubListening: Sendable {
    private let state = Atomic<Bool>(false)
    var isListening: Bool { state.load(ordering: .acquiring) }
    func markListening() { state.store(true, ordering: .releasing) }
}
