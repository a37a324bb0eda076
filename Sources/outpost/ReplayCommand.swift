import ArgumentParser
import EventModel
import Foundation
import OutpostConfig

/// `outpost replay --since TIME --config FILE`: re-queue delivered events still retained.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Send again the delivered events still retained (the hub drops duplicates).")

    @Option(help: "RFC 3339 time (2026-11-26T10:00:00Z) or a duration ago (2h, 30m).")
    var since: String

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let start: Double
        if let t = RFC3339.parse(since) {
            start = t
        } else if let ago = try? Units.parseDuration(since) {
            start = Date().timeIntervalSince1970 - ago
        } else {
            throw CommandFailure.user("--since \(since) is neither an RFC 3339 time nor a duration like 2h")
        }
        let config = try LoadedConfig.agent(options.config, checkEnvironment: false)
        let n = try await runtime { try await OutboxAccess.open(config, readOnly: false).replayDelivered(since: start) }
        print("re-queued \(n) delivered event(s) since \(RFC3339.format(start))")
    }
}
