import ArgumentParser
import Foundation
import OutpostConfig

/// `outpost check-config --config FILE`: every problem, or exit 0.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the configuration; list every problem.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try LoadedConfig.agent(options.config, checkEnvironment: true)
        print("\(options.config): ok (agent \(config.agent.id), region \(config.agent.region), \(config.sources.count) source(s))")
    }
}
