import AgentAdmin
import ArgumentParser
import BuildInfo

/// `outpost`: the agent's command line (README, "Commands"). Exit codes: 0 ok, 1 user or
/// configuration error, 2 runtime failure.
@main
struct OutpostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost",
        abstract: "Forwards ERP documents (SAP IDocs) from drop directories to the Outpost hub, durably.",
        version: OutpostVersion.current,
        subcommands: [
            RunCommand.self, CheckConfigCommand.self, ParseCommand.self, StatusCommand.self,
            DLQCommand.self, ReplayCommand.self, OutboxRecoverCommand.self,
        ])
}

/// `--config FILE`, shared by the commands that read the agent configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The agent configuration file (YAML).")
    var config: String
}
