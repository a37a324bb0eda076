import EventModel
import Foundation

/// One document a codec emitted, copied out of the codec's reused buffer.
public struct EmittedDocument: Sendable, Equatable {
    public var ordinal: Int
    public var control: ControlRecord?
    public var rootName: String?
    public var contentType: String
    public var data: [UInt8]
    public var text: String { String(decoding: data, as: UTF8.self) }
    public var lines: [String] { text.components(separatedBy: "\n") }
}

/// The documents emitted before the codec finished or refused the input.
public struct DecodeOutcome: Sendable {
    public var documents: [EmittedDocument] = []
    public var rejection: DocumentRejection?
}

/// Runs a codec over an input and keeps what it emitted and why it stopped.
public enum CodecHarness {
    public static func decode(
        _ codec: some DocumentCodec, _ input: DocumentInput, limits: CodecLimits = .default
    ) -> DecodeOutcome {
        var outcome = DecodeOutcome()
        do {
            try codec.decode(input, limits: limits) { record in
                outcome.documents.append(EmittedDocument(
                    ordinal: record.ordinal, control: record.control, rootName: record.rootName,
                    contentType: record.contentType, data: Array(record.data)))
            }
        } catch let rejection as DocumentRejection {
            outcome.rejection = rejection
        } catch {
            outcome.rejection = DocumentRejection(.unreadable, "unexpected error \(error)")
        }
        return outcome
    }
}

/// The public samples shared with the project in `../shared/samples/public` (never copied into it).
public enum PublicSamples {
    public static func path(_ name: String) -> String {
        PackageLayout.root.deletingLastPathComponent().appendingPathComponent("shared/samples/public/\(name)").path
    }

    /// The sample's bytes; fails clearly when the shared samples directory is missing.
    public static func bytes(_ name: String) throws -> [UInt8] {
        let path = path(name)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SubprocessError("public sample \(path) is missing: the tests need ../shared/samples/public beside the package")
        }
        return Array(data)
    }
}
