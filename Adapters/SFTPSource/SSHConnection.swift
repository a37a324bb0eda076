internal import CLibSSH2
import Foundation
import Glibc

/// One authenticated SSH session with its SFTP channel, in libssh2's blocking mode.
///
/// Confined to the ``SessionThread`` of its ``SFTPClient``: every call blocks that thread
/// (never the cooperative pool) for at most `operationTimeout` per SSH round trip.
/// libssh2 pointers never leave this type.
final class SSHConnection {
    let settings: SFTPSourceSettings
    private let socket: Int32
    let session: OpaquePointer
    let sftp: OpaquePointer
    /// Remote directories known to exist (created or seen) on this connection.
    var ensuredDirectories: Set<String> = []
    /// Reused for every download (bounded memory whatever the file size).
    var readBuffer: UnsafeMutableRawBufferPointer
    /// The remote path of a removal whose request is sent and whose reply is still to be read
    /// (see ``sendRemoval(_:)``).
    var removalInFlight: String?
    /// A second SFTP channel on the same connection for the removals of `after: delete`, or
    /// `nil` when they go on ``sftp`` (another disposition, or a server that allows one
    /// session per connection).
    ///
    /// The server answers each channel's requests in order, one at a time, and removing a
    /// file can keep it busy for a millisecond or more (a file system that discards the
    /// freed blocks before it replies): on a channel of their own (OpenSSH serves each with
    /// a process of its own) removals no longer hold up the next file's reads
    /// (docs/BENCHMARKS.md, session 15).
    let removalChannel: OpaquePointer?
    /// The channel removals sent without waiting go on.
    var removalSFTP: OpaquePointer { removalChannel ?? sftp }

    /// Bytes requested per `libssh2_sftp_read`; libssh2 pipelines this into many SFTP reads.
    static let readChunk = 2 << 20

    /// libssh2's global state, set up once per process (libssh2_init is not thread-safe).
    private static let libraryReady: Bool = libssh2_init(0) == 0

    /// Connects, verifies the host key, authenticates and opens the SFTP channel.
    init(settings: SFTPSourceSettings) throws(SSHFailure) {
        guard Self.libraryReady else { throw .connection("libssh2 could not be initialised") }
        self.settings = settings
        let socket = try Self.connectSocket(host: settings.host, port: settings.port, timeout: settings.connectTimeout)
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
            Glibc.close(socket)
            throw .connection("libssh2 could not create a session (out of memory)")
        }
        libssh2_session_set_blocking(session, 1)
        libssh2_session_set_timeout(session, Int(settings.operationTimeout * 1000))
        let fail = { (failure: SSHFailure) -> SSHFailure in
            libssh2_session_free(session)
            Glibc.close(socket)
            return failure
        }
        if libssh2_session_handshake(session, socket) != 0 {
            throw fail(.connection("SSH handshake with \(settings.host):\(settings.port) failed: \(Self.lastError(session))"))
        }
        do {
            try HostKeyVerifier(settings: settings).verify(session: session)
            try Self.authenticate(session, settings: settings)
        } catch {
            libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "closing", "")
            throw fail(error)
        }
        libssh2_keepalive_config(session, 1, UInt32(max(1, settings.keepaliveInterval.rounded())))
        guard let sftp = libssh2_sftp_init(session) else {
            let detail = Self.lastError(session)
            libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "closing", "")
            throw fail(.connection("cannot start the SFTP subsystem on \(settings.host):\(settings.port): \(detail); enable `Subsystem sftp` in the server's sshd_config"))
        }
        var removalChannel: OpaquePointer?
        if settings.after == .delete {
            removalChannel = libssh2_sftp_init(session)
            if removalChannel == nil, Self.breaksConnection(libssh2_session_last_errno(session)) {
                let detail = Self.lastError(session)
                libssh2_sftp_shutdown(sftp)
                libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "closing", "")
                throw fail(.connection("cannot open a second SFTP channel on \(settings.host):\(settings.port): \(detail)"))
            }
        }
        self.socket = socket
        self.session = session
        self.sftp = sftp
        self.removalChannel = removalChannel
        readBuffer = .allocate(byteCount: Self.readChunk, alignment: 16)
    }

    /// Ends the session. `graceful` sends SSH disconnect first (skip it on a dead link).
    func close(graceful: Bool) {
        if graceful {
            if let removalChannel { libssh2_sftp_shutdown(removalChannel) }
            libssh2_sftp_shutdown(sftp)
            libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "closing", "")
        }
        libssh2_session_free(session)
        Glibc.close(socket)
        readBuffer.deallocate()
    }

    /// Sends a keepalive if one is due; throws when the link is dead.
    func keepalive() throws(SSHFailure) {
        var next: Int32 = 0
        if libssh2_keepalive_send(session, &next) != 0 {
            throw .connection("keepalive to \(settings.host):\(settings.port) failed: \(Self.lastError(session))")
        }
    }

    /// libssh2's last error message for `session`.
    static func lastError(_ session: OpaquePointer) -> String {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        let text = message.map { String(cString: $0) } ?? ""
        return text.isEmpty ? "libssh2 error \(code)" : "\(text) (libssh2 error \(code))"
    }

    /// Whether libssh2 error `code` means the transport failed (the session is unusable), as
    /// opposed to the server refusing one request.
    static func breaksConnection(_ code: Int32) -> Bool {
        [LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_TIMEOUT,
         LIBSSH2_ERROR_SOCKET_TIMEOUT].contains(code)
    }

    /// The failure behind the last failed SFTP call (on `channel`, by default ``sftp``): the
    /// server's status when it answered, else a transport failure.
    func sftpFailure(_ operation: String, _ path: String, on channel: OpaquePointer? = nil) -> SSHFailure {
        if libssh2_session_last_errno(session) == LIBSSH2_ERROR_SFTP_PROTOCOL {
            return .refused(operation: operation, path: path, code: libssh2_sftp_last_error(channel ?? sftp))
        }
        return .connection("\(operation) \(path) on \(settings.host):\(settings.port) failed: \(Self.lastError(session))")
    }

    // MARK: connect

    private static func connectSocket(host: String, port: Int, timeout: Double) throws(SSHFailure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &found)
        guard rc == 0, let first = found else {
            throw .connection("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.ai_protocol)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var connected = Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0
            if !connected, errno == EINPROGRESS {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&poller, 1, Int32(timeout * 1000)) == 1 {
                    var soError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                    connected = soError == 0
                    if !connected { lastError = String(cString: strerror(soError)) }
                } else {
                    lastError = "timed out after \(timeout)s"
                }
            } else if !connected {
                lastError = String(cString: strerror(errno))
            }
            guard connected else { Glibc.close(fd); continue }
            _ = fcntl(fd, F_SETFL, flags)
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
        throw .connection("cannot connect to \(host):\(port): \(lastError)")
    }

    private static func authenticate(_ session: OpaquePointer, settings: SFTPSourceSettings) throws(SSHFailure) {
        let user = settings.user
        let userLength = UInt32(user.utf8.count)
        var refusals: [String] = []
        if let keyFile = settings.privateKeyFile {
            try SecretFile.checkMode(keyFile, key: "private_key_file")
            var passphrase = try settings.passphraseFile.map { file throws(SSHFailure) in try SecretFile.read(file, key: "passphrase_file") }
            defer { SecretFile.wipe(&passphrase) }
            let rc: Int32 = passphrase.withCString { phrase in
                libssh2_userauth_publickey_fromfile_ex(session, user, userLength, nil, keyFile, phrase)
            }
            if rc == 0 { return }
            if breaksConnection(rc) {
                throw .connection("authentication with \(settings.host):\(settings.port) broke off: \(lastError(session))")
            }
            refusals.append("private_key_file \(keyFile): \(lastError(session))")
        }
        if let passwordFile = settings.passwordFile {
            var password: [CChar]? = try SecretFile.read(passwordFile, key: "password_file")
            defer { SecretFile.wipe(&password) }
            let length = UInt32((password?.count ?? 1) - 1)
            let rc: Int32 = password.withCString { secret in
                libssh2_userauth_password_ex(session, user, userLength, secret, length, nil)
            }
            if rc == 0 { return }
            refusals.append("password_file \(passwordFile): \(lastError(session))")
        }
        throw .authentication(
            "\(settings.host):\(settings.port) refused user '\(user)' (\(refusals.joined(separator: "; "))); "
                + "install the public key in the user's authorized_keys on the server, or fix the key, passphrase or password file")
    }
}
