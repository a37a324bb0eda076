/// Thrown by the intake when the file behind a ``DocumentInput/fileDescriptor(_:)`` changed
/// (size or mtime) between the start of its hash and the end of its decoding: the
/// events read from it are rolled back, nothing of it is committed, and the source leaves
/// the file to be read again once it has settled.
public struct InputChangedWhileRead: Error, Sendable, Equatable, CustomStringConvertible {
    /// The source's file name of the input.
    public var fileName: String

    public init(fileName: String) {
        self.fileName = fileName
    }

    public var description: String {
        "\(fileName) changed while it was read; nothing of it was committed, it is read again once it settles"
    }
}
