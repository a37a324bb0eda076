import Intake
import ArgumentParser
import EventModel
import Foundation
import Glibc
import LogFormat

/// `outpost parse FILE`: the events a file would produce, as JSON lines.
struct ParseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse", abstract: "Print the events a file would produce, one JSON object per line.")

    @Argument(help: "The file to parse.")
    var file: String

    @Option(help: "idoc-xml, idoc-flat or raw (default: detect from the content).")
    var format: String?

    @Option(help: "Region to put on the events.")
    var region: String = "local"

    @Option(help: "Agent id to put on the events.")
    var agent: String = "local"

    @Option(help: "Source name to put on the events.")
    var source: String = "parse"

    func run() async throws {
        var documentFormat: DocumentFormat?
        if let format {
            guard let f = DocumentFormat(rawValue: format) else {
                throw CommandFailure.user("--format \(format) is not one of idoc-xml, idoc-flat, raw")
            }
            documentFormat = f
        }
        var count = 0
        do {
            try DocumentPreview.events(
                path: file, format: documentFormat, codecs: AgentAssembly.codecs, agentID: agent, region: region,
                sourceName: source
            ) { event in
                let line = event.json + [0x0A]
                guard line.withUnsafeBytes({ StandardStream.write($0, to: STDOUT_FILENO) }) else { throw OutputClosed() }
                count += 1
            }
        } catch is OutputClosed {
            throw CommandFailure.runtime("cannot write the events to standard output (closed?); stopped after \(count)")
        } catch let rejection as DocumentRejection {
            throw CommandFailure.user("\(file) would be rejected: \(rejection)")
        } catch {
            throw CommandFailure.user("cannot read \(file): \(error.localizedDescription)")
        }
        StandardStream.write("\(file): \(count) event(s)\n", to: STDERR_FILENO)
    }
}

/// Standard output took only part of an event, or none.
private struct OutputClosed: Error {}
