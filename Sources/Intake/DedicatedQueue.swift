import Dispatch
import EventModel

/// Runs work that keeps a core busy or blocks for milliseconds and more (hashing an input,
/// decoding it) on a thread of its own, never on the threads Swift concurrency's tasks run on.
///
/// On Linux a concurrent dispatch queue runs its work on those very threads, one per core:
/// there, two decodes of a few milliseconds each left a source's task (the SFTP poller about
/// to start the next download) waiting for a thread, and the download with it
/// (docs/BENCHMARKS.md, "Hashing and decoding on threads of their own"). A serial queue of its own runs on a thread that
/// dispatch adds when none is free and reuses after. So there are as many of these threads
/// as inputs being hashed or decoded at once, which the sources bound: six files in flight
/// per SFTP source, two per drop directory, one message per queue source.
enum DedicatedQueue {
    /// An input in memory of at most this many bytes (an AMQP message, a small SFTP file) is
    /// hashed, and decoded when its events fit in the hand-off, on the caller's thread
    /// instead: the hop to a thread of its own and back costs more than the work
    /// (microseconds).
    static let inPlaceBytes = 64 << 10

    /// Whether `input` is small enough to be worked on in place (``inPlaceBytes``).
    static func isSmallEnoughInPlace(_ input: DocumentInput) -> Bool {
        if case .bytes(let bytes) = input { return bytes.count <= inPlaceBytes }
        return false
    }

    static func run(_ label: String, _ work: @escaping @Sendable () -> Void) {
        DispatchQueue(label: label).async(execute: work)
    }
}
