/// A failed SSH or SFTP step, classified by what the source must do about it.
enum SSHFailure: Error, CustomStringConvertible, Equatable {
    /// TCP connect, handshake or transport failure, timeout: drop the session and reconnect
    /// with backoff.
    case connection(String)
    /// The server's host key is not the trusted one: the source stops (a person must decide).
    case hostKey(String)
    /// The server refused every configured credential, or a secret file is unreadable:
    /// reconnect with backoff (the operator may fix it on either side).
    case authentication(String)
    /// The server refused one SFTP operation (status `code`, `LIBSSH2_FX_*`); the session is fine.
    case refused(operation: String, path: String, code: UInt)
    /// A local file system call on the staging file failed.
    case local(String)
    /// The task was cancelled during a long operation.
    case cancelled

    /// Whether the SSH session is unusable after this failure.
    var breaksConnection: Bool {
        switch self {
        case .connection, .hostKey, .authentication, .cancelled: true
        case .refused, .local: false
        }
    }

    var description: String {
        switch self {
        case .connection(let detail), .hostKey(let detail), .authentication(let detail), .local(let detail):
            detail
        case .refused(let operation, let path, let code):
            "\(operation) \(path): \(SSHFailure.statusName(code)) (SFTP status \(code))"
        case .cancelled:
            "cancelled"
        }
    }

    /// SFTP status codes that mean "the file is not readable by this user".
    var isPermissionDenied: Bool {
        if case .refused(_, _, let code) = self { return code == 3 }
        return false
    }

    /// SFTP status codes that mean "no such file or directory".
    var isNoSuchFile: Bool {
        if case .refused(_, _, let code) = self { return code == 2 || code == 10 }
        return false
    }

    static func statusName(_ code: UInt) -> String {
        switch code {
        case 1: "end of file"
        case 2: "no such file"
        case 3: "permission denied"
        case 4: "failure"
        case 5: "bad message"
        case 8: "operation unsupported"
        case 10: "no such path"
        case 11: "file already exists"
        case 12: "write protected"
        case 14: "no space on file system"
        case 15: "quota exceeded"
        default: "error"
        }
    }
}
