import ArgumentParser
import OutpostConfig

/// Loads the agent configuration for a command, turning problems into exit code 1.
enum LoadedConfig {
    static func agent(_ path: String, checkEnvironment: Bool) throws -> AgentConfiguration {
        let config: AgentConfiguration
        do {
            config = try ConfigLoader.loadAgent(path: path)
        } catch {
            throw CommandFailure.user("configuration has problems:\n" + error.description)
        }
        if checkEnvironment {
            let problems = ConfigLoader.checkEnvironment(config)
            if !problems.isEmpty {
                throw CommandFailure.user("configuration has problems:\n" + ConfigError(file: path, problems: problems).description)
            }
        }
        return config
    }
}
