internal import CLibSSH2
import Glibc

extension SSHConnection {
    /// Lists `directory`; with `recursive`, also its subdirectories except `skipping`.
    func list(_ directory: String, recursive: Bool, skipping: Set<String>) throws(SSHFailure) -> RemoteListing {
        var listing = RemoteListing()
        var pending: [(path: String, relative: String)] = [(directory, "")]
        while let (path, relative) = pending.popLast() {
            do {
                try listOne(path, relative: relative, into: &listing) { entry in
                    if recursive, !skipping.contains(Self.trimmed(entry.path)) { pending.append((entry.path, entry.relativePath)) }
                }
            } catch let failure where !relative.isEmpty && !failure.breaksConnection {
                listing.unreadableDirectories[path] = failure.description
            }
        }
        return listing
    }

    private func listOne(
        _ directory: String, relative: String, into listing: inout RemoteListing, subdirectory: (RemoteEntry) -> Void
    ) throws(SSHFailure) {
        guard let handle = libssh2_sftp_open_ex(sftp, directory, UInt32(directory.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR) else {
            throw sftpFailure("opendir", directory)
        }
        defer { libssh2_sftp_close_handle(handle) }
        let capacity = 4096
        let name = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        defer { name.deallocate() }
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        while true {
            let length = libssh2_sftp_readdir_ex(handle, name, capacity, nil, 0, &attributes)
            if length == 0 { return }
            guard length > 0 else { throw sftpFailure("readdir", directory) }
            let bytes = UnsafeRawBufferPointer(start: name, count: Int(length))
            guard let decoded = String(validating: bytes, as: UTF8.self) else {
                listing.undecodableNames.append(remoteJoin(directory, String(decoding: bytes, as: UTF8.self)))
                continue
            }
            if decoded == "." || decoded == ".." { continue }
            let entry = RemoteEntry(
                relativePath: relative.isEmpty ? decoded : relative + "/" + decoded, path: remoteJoin(directory, decoded),
                name: decoded, attributes: Self.attributes(attributes))
            if entry.attributes.kind == .directory { subdirectory(entry) }
            listing.entries.append(entry)
        }
    }

    /// The attributes of `path` (symlinks not followed), or `nil` when it does not exist.
    func stat(_ path: String) throws(SSHFailure) -> RemoteAttributes? {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        guard libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_LSTAT, &attributes) == 0 else {
            let failure = sftpFailure("stat", path)
            if failure.isNoSuchFile { return nil }
            throw failure
        }
        return Self.attributes(attributes)
    }

    /// Streams `path` into the local file `fd`, starting at `offset` (a resumed download),
    /// after checking the remote file still is the one `expected` describes.
    func download(
        _ path: String, expected: RemoteAttributes, into fd: Int32, from offset: Int64, maxSize: Int64,
        isCancelled: () -> Bool
    ) throws(SSHFailure) -> DownloadResult {
        try withOpenedFile(path, expected: expected, maxSize: maxSize) { handle, opened throws(SSHFailure) in
            if offset > 0 { libssh2_sftp_seek64(handle, UInt64(offset)) }
            return try readToEnd(handle, path, opened: opened, from: offset, isCancelled: isCancelled) {
                position, count throws(SSHFailure) in
                let bytes = UnsafeRawBufferPointer(rebasing: readBuffer[0..<count])
                try Self.writeAll(fd, bytes, at: position)
            }
        }
    }

    /// Reads `path` (which `expected` describes) whole into memory: libssh2 copies each
    /// reply straight into the returned bytes, with no staging file written and read back.
    /// The bytes are those of a `.complete` result, else empty.
    func downloadIntoMemory(
        _ path: String, expected: RemoteAttributes, maxSize: Int64, isCancelled: () -> Bool
    ) throws(SSHFailure) -> (result: DownloadResult, bytes: [UInt8]) {
        var result = DownloadResult.vanished
        var failure: SSHFailure?
        let bytes = [UInt8](unsafeUninitializedCapacity: Int(max(0, expected.size))) { buffer, initialized in
            do throws(SSHFailure) {
                result = try withOpenedFile(path, expected: expected, maxSize: maxSize) { handle, opened throws(SSHFailure) in
                    let destination = UnsafeMutableRawBufferPointer(buffer)
                    return try readToEnd(handle, path, opened: opened, from: 0, isCancelled: isCancelled, into: destination) {
                        position, count in
                        initialized = Int(position) + count
                    }
                }
            } catch {
                failure = error
            }
            if case .complete = result {} else { initialized = 0 }
        }
        if let failure { throw failure }
        return (result, bytes)
    }

    /// Opens `path`, checks it is still the file `expected` describes and not above `maxSize`,
    /// and runs `body` on it; closes it after.
    private func withOpenedFile(
        _ path: String, expected: RemoteAttributes, maxSize: Int64,
        _ body: (OpaquePointer, RemoteAttributes) throws(SSHFailure) -> DownloadResult
    ) throws(SSHFailure) -> DownloadResult {
        guard let handle = libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), UInt(LIBSSH2_FXF_READ), 0, LIBSSH2_SFTP_OPENFILE) else {
            let failure = sftpFailure("open", path)
            if failure.isNoSuchFile { return .vanished }
            throw failure
        }
        defer { libssh2_sftp_close_handle(handle) }
        let opened = try fileAttributes(handle, path)
        guard opened.isUnchanged(from: expected) else { return .changed(opened) }
        guard opened.size <= maxSize else { return .tooLarge(opened) }
        return try body(handle, opened)
    }

    /// Reads the open file from `offset` up to the size it was `opened` with: into
    /// `destination` at each byte's own offset or, without one, into the read buffer;
    /// `stored(position, count)` follows each read. Complete when every byte came and the
    /// file did not change meanwhile.
    private func readToEnd(
        _ handle: OpaquePointer, _ path: String, opened: RemoteAttributes, from offset: Int64, isCancelled: () -> Bool,
        into destination: UnsafeMutableRawBufferPointer? = nil,
        stored: (_ position: Int64, _ count: Int) throws(SSHFailure) -> Void
    ) throws(SSHFailure) -> DownloadResult {
        let size = opened.size
        var position = offset
        // libssh2 (1.10) sends read requests ahead: up to four times the length a read asks
        // for beyond those in flight. Asking for the right length keeps its requests inside
        // the file: each request past the end costs the server a read and an EOF reply (a
        // 1 MB file used to cost 90 of them, a 5 KB file dozens). `requested` mirrors where
        // its requests end. A file that grew is caught by the size check after the loop.
        var requested = position
        while position < size {
            if isCancelled() { throw .cancelled }
            let capacity = destination == nil ? readBuffer.count : Int(size - position)
            let wanted = Self.readLength(position: position, requested: requested, size: size, buffer: capacity)
            requested = max(requested, position + 4 * Int64(wanted))
            let target = destination.map { $0.baseAddress! + Int(position) } ?? readBuffer.baseAddress!
            let count = libssh2_sftp_read(handle, target.assumingMemoryBound(to: CChar.self), wanted)
            if count == 0 { break }
            guard count > 0 else { throw sftpFailure("read", path) }
            try stored(position, count)
            position += Int64(count)
        }
        let after = try fileAttributes(handle, path)
        guard position == size, after.isUnchanged(from: opened) else { return .changed(after) }
        return .complete(opened)
    }

    /// Renames `path` into `directory` (created if missing) as `name`, `name.1`, …, never
    /// replacing an existing file; returns the final path.
    ///
    /// - Parameter companion: a suffix whose `<final><companion>` must be free too.
    func move(_ path: String, into directory: String, name: String, reserving companion: String? = nil) throws(SSHFailure) -> String {
        try ensureDirectory(directory)
        for attempt in 0..<10_000 {
            let destination = remoteJoin(directory, attempt == 0 ? name : "\(name).\(attempt)")
            if let companion, try stat(destination + companion) != nil { continue }
            let flags = Int(LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE)
            if libssh2_sftp_rename_ex(sftp, path, UInt32(path.utf8.count), destination, UInt32(destination.utf8.count), flags) == 0 {
                return destination
            }
            let failure = sftpFailure("rename", path)
            guard case .refused = failure, try stat(destination) != nil else { throw failure }
        }
        throw .refused(operation: "rename (no free name after 10000 suffixes)", path: remoteJoin(directory, name), code: 11)
    }

    /// How ``rename(_:to:)`` ended when the session survived.
    enum RenameOutcome: Equatable {
        case renamed
        /// `destination` exists; nothing was renamed.
        case taken
        /// `path` is gone.
        case vanished
        /// The server does not let this user rename `path` there.
        case refused(SSHFailure)
    }

    /// Renames `path` to `destination`, never replacing a file (an SFTP v3 rename fails when
    /// the target exists; OpenSSH makes it with link(2) and unlink(2)).
    func rename(_ path: String, to destination: String) throws(SSHFailure) -> RenameOutcome {
        let flags = Int(LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE)
        if libssh2_sftp_rename_ex(sftp, path, UInt32(path.utf8.count), destination, UInt32(destination.utf8.count), flags) == 0 {
            return .renamed
        }
        let failure = sftpFailure("rename", path)
        if failure.breaksConnection { throw failure }
        if try stat(path) == nil { return .vanished }
        if try stat(destination) != nil { return .taken }
        return .refused(failure)
    }

    /// Removes `path`; a file already gone counts as removed.
    func remove(_ path: String) throws(SSHFailure) {
        // The removal in flight is finished first, so that removals end in the order they were
        // asked for. Its outcome is dropped here; a file it failed to remove is listed again
        // and retried.
        _ = try finishRemoval()
        guard libssh2_sftp_unlink_ex(sftp, path, UInt32(path.utf8.count)) == 0 else {
            let failure = sftpFailure("remove", path)
            if failure.isNoSuchFile { return }
            throw failure
        }
    }

    /// Sends the request to remove `path` without waiting for the server's reply, so that the
    /// next download need not wait for that round trip: the reply is read (libssh2 queues it
    /// while other requests are served) by ``finishRemoval()``, which also runs first when an
    /// earlier removal is still in flight. Goes on the ``removalChannel`` when there is one,
    /// so that the server's work on it runs beside the next file's reads. Returns the
    /// outcomes known now: the earlier removal's, and this one's when it finished at once.
    /// Throws only failures that break the connection.
    func sendRemoval(_ path: String) throws(SSHFailure) -> [RemovalOutcome] {
        var finished = try finishRemoval().map { [$0] } ?? []
        libssh2_session_set_blocking(session, 0)
        let rc = libssh2_sftp_unlink_ex(removalSFTP, path, UInt32(path.utf8.count))
        libssh2_session_set_blocking(session, 1)
        removalInFlight = path
        if rc == LIBSSH2_ERROR_EAGAIN, libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND == 0 {
            return finished
        }
        // Done already, refused, or the request did not go out whole: finish it now, blocking
        // (libssh2 carries on from where the first call stopped).
        if rc == LIBSSH2_ERROR_EAGAIN {
            if let outcome = try finishRemoval() { finished.append(outcome) }
        } else {
            removalInFlight = nil
            finished.append(rc == 0 ? RemovalOutcome(path: path, failure: nil) : try Self.outcome(path, sftpFailure("remove", path, on: removalSFTP)))
        }
        return finished
    }

    /// Reads the reply to the removal in flight, if any; a file already gone counts as removed.
    /// Throws only failures that break the connection.
    func finishRemoval() throws(SSHFailure) -> RemovalOutcome? {
        guard let path = removalInFlight else { return nil }
        removalInFlight = nil
        if libssh2_sftp_unlink_ex(removalSFTP, path, UInt32(path.utf8.count)) == 0 { return RemovalOutcome(path: path, failure: nil) }
        return try Self.outcome(path, sftpFailure("remove", path, on: removalSFTP))
    }

    private static func outcome(_ path: String, _ failure: SSHFailure) throws(SSHFailure) -> RemovalOutcome {
        if failure.breaksConnection { throw failure }
        return RemovalOutcome(path: path, failure: failure.isNoSuchFile ? nil : failure)
    }

    /// Creates `directory` and its missing parents.
    func ensureDirectory(_ directory: String) throws(SSHFailure) {
        let target = Self.trimmed(directory)
        guard !ensuredDirectories.contains(target) else { return }
        var prefix = target.hasPrefix("/") ? "/" : ""
        for component in target.split(separator: "/") {
            prefix = remoteJoin(prefix, String(component))
            if ensuredDirectories.contains(prefix) { continue }
            if try stat(prefix)?.kind != .directory {
                let mode = Int(LIBSSH2_SFTP_S_IRWXU | LIBSSH2_SFTP_S_IRGRP | LIBSSH2_SFTP_S_IXGRP)
                if libssh2_sftp_mkdir_ex(sftp, prefix, UInt32(prefix.utf8.count), mode) != 0 {
                    let failure = sftpFailure("mkdir", prefix)
                    guard try stat(prefix)?.kind == .directory else { throw failure }
                }
            }
            ensuredDirectories.insert(prefix)
        }
    }

    /// Writes a new remote file (fails when `path` exists).
    func writeNewFile(_ path: String, bytes: [UInt8]) throws(SSHFailure) {
        let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL)
        let mode = Int(LIBSSH2_SFTP_S_IRUSR | LIBSSH2_SFTP_S_IWUSR | LIBSSH2_SFTP_S_IRGRP)
        guard let handle = libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), flags, mode, LIBSSH2_SFTP_OPENFILE) else {
            throw sftpFailure("create", path)
        }
        defer { libssh2_sftp_close_handle(handle) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                libssh2_sftp_write(handle, raw.baseAddress!.advanced(by: written).assumingMemoryBound(to: CChar.self), raw.count - written)
            }
            guard count > 0 else { throw sftpFailure("write", path) }
            written += count
        }
    }

    /// What one `libssh2_sftp_read` asks for at `position` of a file of `size` bytes when
    /// libssh2's requests so far end at `requested`. Until they reach the end: a quarter of
    /// the rest, rounded up, so that its read-ahead (four times) covers the file and ends
    /// inside its last request (requests are 30,000 bytes, a multiple of 4). After that: no
    /// more than a quarter of what is in flight, so that it sends nothing new.
    static func readLength(position: Int64, requested: Int64, size: Int64, buffer: Int) -> Int {
        let length = requested < size ? (size - position + 3) / 4 : max(1, (requested - position) / 4)
        return Int(min(Int64(buffer), length))
    }

    private func fileAttributes(_ handle: OpaquePointer, _ path: String) throws(SSHFailure) -> RemoteAttributes {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        guard libssh2_sftp_fstat_ex(handle, &attributes, 0) == 0 else { throw sftpFailure("fstat", path) }
        return Self.attributes(attributes)
    }

    private static func attributes(_ raw: LIBSSH2_SFTP_ATTRIBUTES) -> RemoteAttributes {
        var copy = raw
        let kind: RemoteAttributes.Kind =
            cssh_attrs_is_regular(&copy) != 0 ? .regular : cssh_attrs_is_directory(&copy) != 0 ? .directory : .other
        return RemoteAttributes(kind: kind, size: Int64(raw.filesize), mtime: Int64(raw.mtime))
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(SSHFailure) {
        var done = 0
        while done < bytes.count {
            let count = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw .local("writing the staging file failed: \(String(cString: strerror(errno)))")
            }
            done += count
        }
    }

    /// `path` without trailing slashes (the form directories are compared in).
    static func trimmed(_ path: String) -> String {
        var text = Substring(path)
        while text.count > 1, text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }
}
