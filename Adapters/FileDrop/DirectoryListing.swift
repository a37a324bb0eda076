import Glibc

/// The entry names of one directory (without `.` and `..`).
struct DirectoryListing {
    /// Names that are valid UTF-8.
    var names: [String] = []
    /// Names that are not valid UTF-8, as their bytes (see ``UndecodableName``).
    var undecodableNames: [[UInt8]] = []

    /// Reads `path`.
    static func read(_ path: String) throws(SystemCallError) -> DirectoryListing {
        guard let directory = opendir(path) else { throw SystemCallError("opendir", path) }
        defer { closedir(directory) }
        var listing = DirectoryListing()
        while let entry = readdir(directory) {
            withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { raw in
                    if let name = String(validatingCString: raw) {
                        if name != "." && name != ".." { listing.names.append(name) }
                    } else {
                        listing.undecodableNames.append(Array(UnsafeRawBufferPointer(start: raw, count: strlen(raw))))
                    }
                }
            }
        }
        return listing
    }
}
