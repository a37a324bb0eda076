import ArgumentParser
import EventModel
import Foundation
import Outbox
import OutpostConfig

/// `outpost outbox-recover --config FILE`: the recovery for an outbox `run` refuses to open.
///
/// Keeps the damaged files (renamed `outbox.damaged-<time>.sqlite…`), copies every row that
/// can still be read into a new outbox, and says what was saved. Refused while an agent runs
/// on the data directory, and a no-op on a healthy outbox.
struct OutboxRecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox-recover",
        abstract: "Rebuild a damaged outbox from what can still be read (the agent must be stopped).")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try LoadedConfig.agent(options.config, checkEnvironment: false)
        let lock: DataDirLock
        do { lock = try DataDirLock(dataDir: config.agent.dataDir) } catch { throw CommandFailure.user("\(error)") }
        defer { lock.release() }
        let path = AgentAssembly.outboxPath(config)
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure.user("there is no outbox at \(path); `outpost run` creates one")
        }
        do {
            let outbox = try Outbox(path: path, readOnly: true)
            if (try? outbox.integrityProblems()) == [] {
                print("the outbox \(path) is healthy; nothing to recover")
                return
            }
        } catch let error as OutboxError {
            // Not damaged: written by a newer version, which this one would misread.
            if case .newer = error { throw CommandFailure.user("\(error)") }
        } catch {
            // Damaged or unreadable: rebuilt below.
        }
        let stamp = RFC3339.format(Date().timeIntervalSince1970).replacingOccurrences(of: ":", with: "")
        let damaged = (config.agent.dataDir as NSString).appendingPathComponent("outbox.damaged-\(stamp).sqlite")
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            guard rename(path + suffix, damaged + suffix) == 0 else {
                throw CommandFailure.runtime("cannot rename \(path + suffix): \(String(cString: strerror(errno))); nothing was changed")
            }
        }
        let report: SalvageReport
        do {
            report = try OutboxSalvage.copy(from: damaged, into: path)
        } catch {
            throw CommandFailure.runtime("cannot create the new outbox \(path): \(error); the damaged one is kept as \(damaged)")
        }
        print("kept the damaged outbox as \(damaged)")
        if let failure = report.failure {
            print("nothing could be read from it (\(failure)); started a new, empty outbox at \(path)")
        } else {
            let states = report.events.keys.sorted().map { "\(report.events[$0]!) \($0)" }.joined(separator: ", ")
            print("new outbox \(path): \(report.eventTotal) event(s) recovered\(states.isEmpty ? "" : " (\(states))"), \(report.receipts) file receipt(s)")
            if report.eventsWithoutPayload > 0 {
                print("\(report.eventsWithoutPayload) event row(s) had no readable payload and were left out")
            }
            for line in report.unreadable { print("unreadable: \(line)") }
        }
        print("""
            start the agent again. Events that were not recovered belong to files in the archive \
            directory: copy those files back into the drop directory to send them again (their event \
            ids are the same, so the hub keeps one of each).
            """)
    }
}
