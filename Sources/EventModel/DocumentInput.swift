import Foundation

/// Where a codec reads a document from.
public enum DocumentInput: Sendable {
    /// An open, readable file descriptor positioned at the start; the caller owns and closes it.
    case fileDescriptor(Int32)
    /// A whole document in memory (a queue message, a test fixture).
    case bytes([UInt8])

    /// Seeks a file descriptor back to its start, for a (further) reading from the beginning.
    public func rewind() throws(POSIXError) {
        if case .fileDescriptor(let fd) = self, lseek(fd, 0, SEEK_SET) < 0 {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }
}
