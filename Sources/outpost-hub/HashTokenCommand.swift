import ArgumentParser
import Foundation
import HubServer

/// `outpost-hub hash-token`: prints the SHA-256 of the token read from standard input, the
/// value to write as `token_sha256` / `read_token_sha256`.
struct HashTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-token",
        abstract: "Read a bearer token from standard input and print its SHA-256 (hex) for the hub configuration.",
        discussion: "Surrounding whitespace and the final newline are ignored, e.g. `outpost-hub hash-token < /etc/outpost/hub.token`.")

    func run() throws {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let token = input.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            printError("outpost-hub hash-token: standard input holds no token; pipe the token file in, e.g. `outpost-hub hash-token < hub.token`")
            throw ExitCode.configurationError
        }
        print(TokenDigest(of: token).hex)
    }
}
