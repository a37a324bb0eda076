/// Why a request body is not a CloudEvents JSON batch (answered with 400).
///
/// The description names the problem and the byte offset in the body where it was found, so
/// that an operator can locate it with `head -c`.
public struct BatchDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, in words (no document content).
    public var problem: String
    /// Zero-based byte offset in the body where the problem was detected.
    public var offset: Int

    public init(_ problem: String, at offset: Int) {
        self.problem = problem
        self.offset = offset
    }

    public var description: String { "\(problem) at byte offset \(offset)" }
}
