import Yams

/// Readers for the value kinds Outpost's configuration files share.
extension MappingReader {
    /// A name usable in `outpost://agent/source` and hub tables: `[A-Za-z0-9._-]+`.
    func identifier(_ key: String, required example: String) -> String? {
        guard let text = string(key, required: example) else { return nil }
        guard Identifier.isValid(text) else {
            report(
                key, "'\(text)' contains characters not allowed in \(key)",
                fix: "use only \(Identifier.allowedDescription), e.g. \(example)")
            return nil
        }
        return text
    }

    /// An absolute URL with one of `schemes` and a host.
    func url(_ key: String, schemes: [String], required example: String) -> (text: String, endpoint: EndpointURL)? {
        guard let text = string(key, required: example) else { return nil }
        guard let endpoint = EndpointURL(text), schemes.contains(endpoint.scheme) else {
            let allowed = schemes.map { "\($0)://" }.joined(separator: " or ")
            report(key, "'\(text)' is not a \(allowed) URL with a host", fix: "write a URL like \(example)")
            return nil
        }
        return (text, endpoint)
    }

    /// `host:port`; a bracketed IPv6 address left unquoted reads as a YAML list, so say so.
    func listenAddress(_ key: String, example: String) -> ListenAddress? {
        if let value = value(key), value.sequence != nil {
            report(
                key, "an unquoted [IPv6]:port reads as a YAML list",
                fix: "quote it, e.g. \(key): \"[::1]:\(ListenAddress(parsing: example)?.port ?? 8080)\"")
            return nil
        }
        guard let text = string(key) else { return nil }
        guard let address = ListenAddress(parsing: text) else {
            report(
                key, "'\(text)' is not host:port",
                fix: "write e.g. \(example), or \"[::1]:\(ListenAddress(parsing: example)?.port ?? 8080)\" for IPv6")
            return nil
        }
        return address
    }

    /// 64 hex digits (a SHA-256), returned lowercase.
    func sha256Hex(_ key: String, required example: String? = nil, nullable: Bool = false) -> String? {
        guard let text = string(key, required: example, nullable: nullable) else { return nil }
        guard text.utf8.count == 64, text.allSatisfy(\.isHexDigit) else {
            report(
                key, "'\(text)' is not a SHA-256 in hex (64 characters 0-9a-f)",
                fix: "write the output of `printf %s TOKEN | sha256sum`")
            return nil
        }
        return text.lowercased()
    }

    /// A file name suffix such as `.done`: non-empty, without `/`.
    func fileSuffix(_ key: String) -> String? {
        guard let text = string(key, nullable: true) else { return nil }
        guard !text.contains("/") else {
            report(key, "'\(text)' contains '/'", fix: "write only the suffix added to the file name, e.g. .done")
            return nil
        }
        return text
    }

    /// `include`/`exclude` globs; only names in the directory itself are matched, so a `/` is an error.
    func fileNamePatterns(_ key: String) -> [String]? {
        guard let patterns = stringList(key) else { return nil }
        let withSlash = patterns.filter { $0.contains("/") }
        guard withSlash.isEmpty else {
            report(
                key, "pattern '\(withSlash[0])' contains '/', but patterns match file names only",
                fix: "write a file-name pattern such as \"*.xml\"")
            return nil
        }
        return patterns
    }
}
