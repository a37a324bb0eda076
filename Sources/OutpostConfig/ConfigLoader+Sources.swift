import Yams

/// `sources:`: one entry per file drop, SFTP server or queue.
extension ConfigLoader {
    static func sources(_ top: MappingReader) -> [SourceConfiguration] {
        guard
            let items = top.sequence(
                "sources", requiredFix: "add a `sources:` list with at least one source (see deploy/examples/outpost.yaml)")
        else { return [] }
        if items.isEmpty {
            top.report("sources", "no sources are configured", fix: "add at least one source under sources")
        }
        var sources: [SourceConfiguration] = []
        var indexByName: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            guard let r = sourceMapping(item, at: "sources[\(index)]", log: top.log) else { continue }
            let name = r.identifier("name", required: "sap-outbound")
            if let name {
                if let first = indexByName[name] {
                    r.report("name", "source name '\(name)' is already used by sources[\(first)]", fix: "give every source its own name")
                } else {
                    indexByName[name] = index
                }
            }
            let kind = r.choice("type", as: AgentKeys.SourceKind.self, required: "file_drop")
            switch kind {
            case .fileDrop: sources.append(.fileDrop(fileDropSource(r, name: name ?? "")))
            case .sftp: sources.append(.sftp(sftpSource(r, name: name ?? "")))
            case .amqp: sources.append(.amqp(amqpSource(r, name: name ?? "")))
            case nil: break
            }
        }
        return sources
    }

    /// Opens one source with the keys its `type` allows (all of them when the type is unusable).
    private static func sourceMapping(_ node: Node, at path: String, log: ProblemLog) -> MappingReader? {
        let typeText = node.mapping?["type"]?.scalar?.string
        guard let kind = typeText.flatMap(AgentKeys.SourceKind.init(rawValue:)) else {
            let all = AgentKeys.SourceKind.allCases.flatMap(\.keys)
            return MappingReader.open(node, at: path, log: log, allowedKeys: Array(Set(all)).sorted())
        }
        return MappingReader.open(
            node, at: path, log: log, allowedKeys: kind.keys,
            misplaced: AgentKeys.misplaced(for: kind, keys: \.keys, typeKey: "type"))
    }

    // MARK: file_drop

    private static func fileDropSource(_ r: MappingReader, name: String) -> FileDropSourceConfiguration {
        let path = r.absolutePath("path", required: "/srv/erp/outbound")
        let errorDir = r.absolutePath("error_dir", required: "/srv/erp/error")
        var source = FileDropSourceConfiguration(name: name, path: path ?? "", errorDir: errorDir ?? "")
        if let value = r.fileNamePatterns("include") { source.include = value }
        if let value = r.fileNamePatterns("exclude") { source.exclude = value }
        if let value = r.choice("format", as: SourceFormat.self) { source.format = value }
        if let value = r.duration("settle") { source.settle = value }
        source.doneMarker = r.fileSuffix("done_marker")
        let after = r.choice("after", as: FileDropSourceConfiguration.After.self)
        if let after { source.after = after }
        source.archiveDir = r.absolutePath("archive_dir")
        if let value = r.size("max_file_size", minimum: 1) { source.maxFileSize = value }
        if let value = r.duration("rescan_interval", positive: true) { source.rescanInterval = value }

        let archives = after == .archive || r.value("after") == nil
        if archives, r.value("archive_dir") == nil {
            r.reportMissing(
                "archive_dir",
                fix: "`after: archive` (the default) needs `archive_dir: /srv/erp/archive`; or set `after: delete`")
        }
        if let path {
            for (key, directory) in [("archive_dir", source.archiveDir), ("error_dir", errorDir)] {
                if let directory, normalizedPath(directory) == normalizedPath(path) {
                    r.report(
                        key, "\(key) '\(directory)' is the drop directory itself",
                        fix: "use another directory, e.g. \(normalizedPath(path))/\(key == "error_dir" ? "error" : "archive")")
                }
            }
        }
        return source
    }

    // MARK: sftp

    private static func sftpSource(_ r: MappingReader, name: String) -> SFTPSourceConfiguration {
        var source = SFTPSourceConfiguration(
            name: name, host: r.string("host", required: "sftp.example.net") ?? "",
            user: r.string("user", required: "erp") ?? "", remoteDir: r.string("remote_dir", required: "/outbound") ?? "")
        if let value = r.int("port", in: 1...65535) { source.port = value }
        source.privateKeyFile = r.absolutePath("private_key_file")
        source.passphraseFile = r.absolutePath("passphrase_file")
        source.passwordFile = r.absolutePath("password_file")
        source.knownHostsFile = r.absolutePath("known_hosts_file")
        source.hostKeyFingerprint = hostKeyFingerprint(r)
        if let value = r.fileNamePatterns("include") { source.include = value }
        if let value = r.fileNamePatterns("exclude") { source.exclude = value }
        if let value = r.bool("recursive") { source.recursive = value }
        if let value = r.duration("poll_interval", positive: true) { source.pollInterval = value }
        if let value = r.duration("settle") { source.settle = value }
        source.doneMarker = r.fileSuffix("done_marker")
        if let value = r.choice("format", as: SourceFormat.self) { source.format = value }
        let after = r.choice("after", as: SFTPSourceConfiguration.After.self)
        if let after { source.after = after }
        source.remoteArchiveDir = r.string("remote_archive_dir")
        source.remoteErrorDir = r.string("remote_error_dir")
        if let value = r.size("max_file_size", minimum: 1) { source.maxFileSize = value }

        if !r.has("private_key_file"), !r.has("password_file") {
            r.reportMissing(
                "private_key_file",
                fix: "an sftp source needs `private_key_file: /etc/outpost/id_ed25519` or `password_file: …`")
        }
        if r.has("passphrase_file"), !r.has("private_key_file") {
            r.report("passphrase_file", "passphrase_file without private_key_file", fix: "add private_key_file or remove passphrase_file")
        }
        if !r.has("known_hosts_file"), !r.has("host_key_fingerprint") {
            r.reportMissing(
                "known_hosts_file",
                fix: "the server's host key is always verified: add `known_hosts_file: /etc/outpost/known_hosts` or `host_key_fingerprint: SHA256:…`")
        }
        if after == .move || r.value("after") == nil, !r.has("remote_archive_dir") {
            r.reportMissing(
                "remote_archive_dir",
                fix: "`after: move` (the default) needs `remote_archive_dir: /outbound/archive`; or set `after: delete`")
        }
        return source
    }

    /// `SHA256:` followed by the unpadded base64 of 32 bytes, as `ssh-keygen -lf` prints it.
    private static func hostKeyFingerprint(_ r: MappingReader) -> String? {
        guard let text = r.string("host_key_fingerprint") else { return nil }
        let prefix = "SHA256:"
        var digest = text.hasPrefix(prefix) ? Substring(text.dropFirst(prefix.count)) : ""
        if digest.last == "=" { digest = digest.dropLast() }
        let isBase64 = digest.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/") }
        guard digest.count == 43, isBase64 else {
            r.report(
                "host_key_fingerprint", "'\(text)' is not a SHA256 host key fingerprint",
                fix: "write it as `ssh-keygen -lf KEY.pub` prints it, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s")
            return nil
        }
        return text
    }

    // MARK: amqp

    private static func amqpSource(_ r: MappingReader, name: String) -> AMQPSourceConfiguration {
        let url = r.url("url", schemes: ["amqp", "amqps"], required: "amqp://127.0.0.1:5672/%2f")
        var source = AMQPSourceConfiguration(
            name: name, url: url?.text ?? "", queue: r.string("queue", required: "erp.outbound") ?? "")
        source.credentialsFile = r.absolutePath("credentials_file")
        if let value = r.int("prefetch", in: 1...65535) { source.prefetch = value }
        if let value = r.choice("format", as: SourceFormat.self) { source.format = value }
        source.rejectExchange = r.string("reject_exchange")
        source.rejectRoutingKey = r.string("reject_routing_key")
        return source
    }

    /// `/a//b/./c/` → `/a/b/c`, so equal directories compare equal.
    static func normalizedPath(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }
}
