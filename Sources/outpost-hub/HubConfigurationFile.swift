import ArgumentParser
import OutpostConfig

/// The hub's configuration file as every command reads it: loaded and checked, or every
/// problem printed and the command ended with the configuration exit code.
enum HubConfigurationFile {
    static func load(_ path: String) throws -> HubConfiguration {
        do {
            return try ConfigLoader.loadHub(path: path)
        } catch {
            printError("configuration has problems:\n" + error.description)
            throw ExitCode.configurationError
        }
    }
}
