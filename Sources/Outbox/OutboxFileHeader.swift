import Foundation

/// The first 100 bytes of an SQLite database file, read before SQLite opens it.
///
/// SQLite trusts the page count in a valid header and only fails when a query reaches a page
/// past the end of a shortened file, which may be long after start-up. Comparing the header's
/// size with the file's finds a truncated outbox at once.
enum OutboxFileHeader {
    /// Why the file at `path` is shorter than its header says, or nil when it is not (or when
    /// the check does not apply: no file yet, not an SQLite header, a header whose page count
    /// SQLite itself would not trust, or a write-ahead log that may still hold the newest pages).
    static func truncation(ofDatabaseAt path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let fileSize = (attributes[.size] as? NSNumber)?.uint64Value else { return nil }
        // With a non-empty log, the file alone is not the database: recovery may still write
        // pages the header already counts (a checkpoint cut short by a crash).
        if let log = try? FileManager.default.attributesOfItem(atPath: path + "-wal"),
           let logSize = (log[.size] as? NSNumber)?.uint64Value, logSize > 0 { return nil }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 100), data.count == 100 else { return nil }
        let header = [UInt8](data)
        return truncation(header: header, fileSize: fileSize)
    }

    /// The check on an already read header (see ``truncation(ofDatabaseAt:)``).
    static func truncation(header: [UInt8], fileSize: UInt64) -> String? {
        guard header.count >= 100, header.starts(with: Array("SQLite format 3\0".utf8)) else { return nil }
        func u32(_ offset: Int) -> UInt32 {
            header[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let rawPageSize = UInt32(header[16]) << 8 | UInt32(header[17])
        let pageSize: UInt64 = rawPageSize == 1 ? 65536 : UInt64(rawPageSize)
        let pages = UInt64(u32(28))
        // SQLite uses the header's page count only when the change counter matches the
        // "version valid for" number; otherwise it takes the file size itself.
        guard pageSize >= 512, pages > 0, u32(24) == u32(92) else { return nil }
        let expected = pages * pageSize
        guard fileSize < expected else { return nil }
        return "the file is \(fileSize) bytes but its header says \(pages) pages of \(pageSize) bytes "
            + "(\(expected) bytes): it was truncated"
    }
}
