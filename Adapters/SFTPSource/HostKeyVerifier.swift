internal import CLibSSH2
import Foundation

/// Checks the host key a server offers against `known_hosts_file` or a pinned fingerprint.
///
/// There is no trust-on-first-use: an unknown or changed key fails with the host, the
/// offered `SHA256:` fingerprint and the command that fixes it, and the source stops.
struct HostKeyVerifier {
    let settings: SFTPSourceSettings

    /// The key the server offered in this session.
    struct OfferedKey {
        var blob: UnsafePointer<CChar>
        var length: Int
        /// `LIBSSH2_HOSTKEY_TYPE_*`.
        var type: Int32
        /// `SHA256:<unpadded base64>`, as `ssh-keygen -lf` prints it.
        var fingerprint: String

        var typeName: String {
            switch type {
            case LIBSSH2_HOSTKEY_TYPE_RSA: "RSA"
            case LIBSSH2_HOSTKEY_TYPE_DSS: "DSA"
            case LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_HOSTKEY_TYPE_ECDSA_521: "ECDSA"
            case LIBSSH2_HOSTKEY_TYPE_ED25519: "ED25519"
            default: "unknown"
            }
        }
    }

    func verify(session: OpaquePointer) throws(SSHFailure) {
        let offered = try Self.offeredKey(session)
        switch settings.hostKeyCheck {
        case .fingerprint(let pinned):
            guard Self.normalized(pinned) == Self.normalized(offered.fingerprint) else {
                throw .hostKey(
                    "host key of \(hostName) is \(offered.typeName) \(offered.fingerprint), not the pinned host_key_fingerprint \(pinned); "
                        + "the server's key changed or the connection is intercepted: confirm the new key with the server's operator, "
                        + "then update host_key_fingerprint. The source stays stopped until then")
            }
        case .knownHosts(let file):
            try check(offered, againstKnownHosts: file, session: session)
        }
    }

    /// `host` for port 22, else `[host]:port` (the known_hosts spelling).
    private var hostName: String { settings.port == 22 ? settings.host : "[\(settings.host)]:\(settings.port)" }

    private func check(_ offered: OfferedKey, againstKnownHosts file: String, session: OpaquePointer) throws(SSHFailure) {
        guard let contents = FileManager.default.contents(atPath: file) else {
            throw .hostKey("cannot read known_hosts_file \(file); create it (e.g. ssh-keyscan -p \(settings.port) \(settings.host) > \(file), after checking the fingerprint) and make it readable by the outpost user")
        }
        guard let hosts = libssh2_knownhost_init(session) else { throw .connection("libssh2 could not allocate a known-hosts list") }
        defer { libssh2_knownhost_free(hosts) }
        // Line by line: libssh2 gives up on a whole file at the first line it cannot parse
        // (a key type it does not know, a @cert-authority marker); such lines are skipped.
        // Each line is passed with its newline: libssh2 1.10 drops a line's last byte as if it
        // were one, which would cut the key short and make every entry a mismatch.
        for (index, line) in contents.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if Self.isRevoked(offered, by: line) {
                throw .hostKey(
                    "host key of \(hostName) (\(offered.typeName) \(offered.fingerprint)) is revoked by known_hosts_file "
                        + "\(file) line \(index + 1) (@revoked): refused. The server must get a new host key; add that one "
                        + "once its operator has confirmed it. The source stays stopped until then")
            }
            // libssh2 reads no markers (@revoked, @cert-authority): such lines are left out.
            guard !line.isEmpty, line.first != UInt8(ascii: "@") else { continue }
            let terminated = Array(line) + [0x0A]
            _ = terminated.withUnsafeBytes { raw in
                libssh2_knownhost_readline(
                    hosts, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count, cssh_knownhost_file_openssh())
            }
        }
        let typeMask = cssh_knownhost_type_plain() | cssh_knownhost_keyenc_raw() | cssh_knownhost_key_type(offered.type)
        let verdict = libssh2_knownhost_checkp(
            hosts, settings.host, Int32(settings.port), offered.blob, offered.length, typeMask, nil)
        switch verdict {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            throw .hostKey(
                "host key of \(hostName) does NOT match known_hosts_file \(file): the server offered \(offered.typeName) key \(offered.fingerprint); "
                    + "the server's key changed or the connection is intercepted: confirm the new key with the server's operator, "
                    + "then replace the entry (ssh-keygen -R '\(hostName)' -f \(file), then add the new key). The source stays stopped until then")
        default:
            throw .hostKey(
                "host key of \(hostName) is not in known_hosts_file \(file): the server offered \(offered.typeName) key \(offered.fingerprint); "
                    + "if that is the server's key (ask its operator: ssh-keygen -lf on the server's host key), add it "
                    + "(ssh-keyscan -p \(settings.port) \(settings.host) >> \(file)) or set host_key_fingerprint: \(offered.fingerprint)")
        }
    }

    /// Whether `line` is a `@revoked <hosts> <type> <base64 key>` entry for the offered key.
    /// The key is refused whatever the line's host patterns say, as OpenSSH does.
    static func isRevoked(_ offered: OfferedKey, by line: Data) -> Bool {
        isRevoked(UnsafeRawBufferPointer(start: offered.blob, count: offered.length), by: Array(line))
    }

    static func isRevoked(_ key: UnsafeRawBufferPointer, by line: [UInt8]) -> Bool {
        let fields = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
        guard fields.count >= 4, fields[0].elementsEqual("@revoked".utf8),
              let blob = Data(base64Encoded: Data(fields[3]))
        else { return false }
        return blob.elementsEqual(key)
    }

    private static func offeredKey(_ session: OpaquePointer) throws(SSHFailure) -> OfferedKey {
        var length = 0
        var type: Int32 = 0
        guard let blob = libssh2_session_hostkey(session, &length, &type),
              let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256)
        else { throw .connection("the server sent no host key") }
        let digest = Data(bytes: hash, count: 32).base64EncodedString()
        let fingerprint = "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
        return OfferedKey(blob: blob, length: length, type: type, fingerprint: fingerprint)
    }

    /// The base64 part of a fingerprint, without the `SHA256:` prefix and padding.
    static func normalized(_ fingerprint: String) -> Substring {
        var text = Substring(fingerprint)
        if text.hasPrefix("SHA256:") { text = text.dropFirst(7) }
        while text.hasSuffix("=") { text = text.dropLast() }
        return text
    }
}
