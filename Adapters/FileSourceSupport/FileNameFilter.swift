import EventModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decides, from its name alone, whether a directory entry is a document of a file source
/// (`include`, `exclude` and `done_marker` of a `file_drop` or `sftp` source).
public struct FileNameFilter: Sendable, Equatable {
    /// Glob patterns (fnmatch(3)) a name must match one of.
    public let include: [String]
    /// Glob patterns that exclude a name even when it matches `include`.
    public let exclude: [String]
    /// e.g. `.done`; `nil` when the source does not use markers.
    public let doneMarker: String?

    public init(include: [String], exclude: [String], doneMarker: String?) {
        self.include = include
        self.exclude = exclude
        self.doneMarker = doneMarker.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether `name` is a done marker (`X.done`); markers are never documents.
    public func isMarker(_ name: String) -> Bool {
        guard let doneMarker else { return false }
        return name.count > doneMarker.count && name.hasSuffix(doneMarker)
    }

    /// The marker that releases document `name`, if the source uses markers.
    public func marker(for name: String) -> String? { doneMarker.map { name + $0 } }

    /// Whether `name` matches an include pattern, no exclude pattern, and is neither a marker
    /// nor a source's private claim name (``ClaimName``).
    public func isDocument(_ name: String) -> Bool {
        !isMarker(name) && ClaimName.original(of: name) == nil
            && include.contains { fnmatch($0, name, 0) == 0 }
            && !exclude.contains { fnmatch($0, name, 0) == 0 }
    }
}
