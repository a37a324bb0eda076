import Glibc

/// Decides, from its name alone, whether a directory entry is a document of this source.
struct NameFilter {
    let include: [String]
    let exclude: [String]
    let doneMarker: String?

    init(settings: FileDropSettings) {
        include = settings.include
        exclude = settings.exclude
        doneMarker = settings.doneMarker.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether `name` is a done marker (`X.done`); markers are never documents.
    func isMarker(_ name: String) -> Bool {
        guard let doneMarker else { return false }
        return name.count > doneMarker.count && name.hasSuffix(doneMarker)
    }

    /// The marker that releases document `name`, if the source uses markers.
    func marker(for name: String) -> String? { doneMarker.map { name + $0 } }

    /// Whether `name` matches an include pattern, no exclude pattern, and is not a marker.
    func isDocument(_ name: String) -> Bool {
        !isMarker(name)
            && include.contains { fnmatch($0, name, 0) == 0 }
            && !exclude.contains { fnmatch($0, name, 0) == 0 }
    }
}
