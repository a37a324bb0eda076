import EventModel
import FileSourceSupport
import Glibc

/// Entries whose names are not valid UTF-8 (a Latin-1 name written by an old ERP job, say).
///
/// No event, log line or reason file could name such a file faithfully, so it is never read:
/// once it has been left alone for `settle`, it is moved to the error directory under an
/// escaped name (bytes outside printable ASCII, and `%`, written as `%XX`) and rejected with
/// `file_name_not_utf8`, like any other quarantined file.
enum UndecodableName {
    /// `latin1-\xE9.xml` → `latin1-%E9.xml`.
    static func escaped(_ raw: [UInt8]) -> String {
        var out = ""
        for byte in raw {
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// `directory/raw` as a C path.
    static func path(in directory: String, _ raw: [UInt8]) -> [CChar] {
        (Array(directory.utf8) + [UInt8(ascii: "/")] + raw + [0]).map { CChar(bitPattern: $0) }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension FileDropRun {
    /// Quarantines the entries with undecodable names that have settled (see ``UndecodableName``).
    func quarantineUndecodableNames() async {
        for raw in undecodableNames {
            guard !Task.isCancelled else { return }
            let escaped = UndecodableName.escaped(raw)
            guard filter.isDocument(escaped) else { continue }
            var st = stat()
            guard lstat(UndecodableName.path(in: settings.directory, raw), &st) == 0 else { continue }
            let status = EntryStatus(st)
            guard status.kind != .directory else { continue }
            let ageNs = Int64(SystemTime.wall() * 1e9) - status.mtimeNs
            guard Double(ageNs) / 1e9 >= settings.settle else { continue }
            await quarantine(raw, escaped: escaped, status: status)
        }
    }

    private func quarantine(_ raw: [UInt8], escaped: String, status: EntryStatus) async {
        let rejection = DocumentRejection(
            .fileNameNotUTF8,
            "the file name is not valid UTF-8 (shown with its other bytes as %XX); "
                + "rename it to UTF-8 and drop it again, or have the writer use UTF-8 or ASCII names")
        let target = FileRelocator.firstFreeName(in: settings.errorDirectory, name: escaped, reserving: Self.reasonSuffix)
        let destination = settings.errorDirectory + "/" + target
        do {
            try await intake.reject(
                sourceName: settings.name, fileName: escaped, size: status.size,
                fingerprint: status.fingerprint(name: escaped), rejection: rejection, quarantinedAs: destination)
        } catch {
            logger.error("file.rejection_failed", metadata: ["file": .string(escaped), "error": .string("\(error)")])
            return
        }
        guard rename(UndecodableName.path(in: settings.directory, raw), destination) == 0 else {
            let error = SystemCallError("rename", destination)
            if reportedUndecodableNames.insert(raw).inserted {
                logger.error(
                    "file.relocation_failed",
                    metadata: [
                        "file": .string(escaped), "error": .string(error.description),
                        "hint": "fix the permissions of the error directory; retrying on rescans",
                    ])
            }
            return
        }
        undecodableNames.remove(raw)
        FileRelocator.syncDirectory(settings.directory)
        FileRelocator.syncDirectory(settings.errorDirectory)
        let reason = QuarantineReason(rejection: rejection, sha256: nil, size: status.size, rejectedAt: SystemTime.wall())
        recordQuarantine(of: escaped, at: destination, reason: reason)
        source.updateStatus { $0.filesRejected += 1 }
    }
}
