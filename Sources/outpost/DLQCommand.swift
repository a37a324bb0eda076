import ArgumentParser
import EventModel
import Foundation
import Outbox

/// `outpost dlq list|show|replay|purge --config FILE`.
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Inspect, replay or purge dead-lettered events.",
        subcommands: [List.self, Show.self, Replay.self, Purge.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, oldest first.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try LoadedConfig.agent(options.config, checkEnvironment: false)
            let letters = try await runtime { try await OutboxAccess.open(config, readOnly: true).deadLetters() }
            if letters.isEmpty { print("no dead letters"); return }
            for d in letters {
                print("\(d.id)\t\(d.type)\t\(d.fileName)\t\(RFC3339.format(d.createdAt))\t\(d.reason)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one dead letter: reason and event JSON.")
        @Argument(help: "The event id.") var id: String
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try LoadedConfig.agent(options.config, checkEnvironment: false)
            guard let d = try await runtime({ try await OutboxAccess.open(config, readOnly: true).deadLetter(id: id) }) else {
                throw CommandFailure.user("no dead letter with id \(id) (see `outpost dlq list`)")
            }
            print("id:       \(d.id)\ntype:     \(d.type)\nsource:   \(d.source)\nfile:     \(d.fileName)")
            print("attempts: \(d.attempts)\nreason:   \(d.reason)\nevent:")
            print(String(decoding: d.json ?? [], as: UTF8.self))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send dead letters again.")
        @OptionGroup var selection: Selection

        func run() async throws {
            try await selection.apply("re-queued", note: "; a running agent sends them within a second") { outbox, ids in
                try await outbox.replayDeadLetters(ids: ids)
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")
        @OptionGroup var selection: Selection

        func run() async throws {
            try await selection.apply("purged", note: "") { outbox, ids in
                try await outbox.purgeDeadLetters(ids: ids)
            }
        }
    }

    /// `ID… | --all` and `--config`, shared by replay and purge.
    struct Selection: ParsableArguments {
        @Argument(help: "Event ids.") var ids: [String] = []
        @Flag(help: "Every dead letter.") var all = false
        @OptionGroup var options: ConfigOption

        /// Runs `action` on the selected dead letters (nil = all) and reports the count;
        /// exit 1 when some ids were not dead letters.
        func apply(_ verb: String, note: String, _ action: (Outbox, [String]?) async throws -> Int) async throws {
            let selection = try DLQCommand.selection(ids: ids, all: all)
            let config = try LoadedConfig.agent(options.config, checkEnvironment: false)
            let n = try await runtime { try await action(try OutboxAccess.open(config, readOnly: false), selection) }
            print("\(verb) \(n) event(s)\(note)")
            if let selection, n < selection.count { throw CommandFailure.user("\(selection.count - n) id(s) were not dead letters") }
        }
    }

    /// nil = all; exactly one of ids / --all.
    static func selection(ids: [String], all: Bool) throws -> [String]? {
        if all && !ids.isEmpty { throw CommandFailure.user("give event ids or --all, not both") }
        if !all && ids.isEmpty { throw CommandFailure.user("give event ids (see `outpost dlq list`) or --all") }
        return all ? nil : ids
    }
}

/// Runs an outbox operation, turning unexpected errors into exit code 2.
func runtime<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        throw CommandFailure.runtime("\(error)")
    }
}
