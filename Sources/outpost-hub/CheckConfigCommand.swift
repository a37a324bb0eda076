import ArgumentParser
import Foundation
import OutpostConfig

/// `outpost-hub check-config --config FILE`: validates the file (systemd's `ExecStartPre=`);
/// exit 0, or 1 with every problem listed.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a hub configuration file and list every problem.")

    @Option(name: .long, help: "The hub configuration file (YAML).")
    var config: String

    func run() throws {
        let configuration = try HubConfigurationFile.load(config)
        let mapping = configuration.mapping.enabled
            ? "mapping on, \(configuration.mapping.overrides.count) profile overrides" : "mapping off"
        print("\(config): ok (listen \(configuration.listenHost):\(configuration.listenPort), \(configuration.agents.count) agents, storage \(configuration.storage.summary), \(mapping))")
    }
}
