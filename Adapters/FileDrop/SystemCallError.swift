import Glibc

/// A failed system call on a path, with the errno it reported.
struct SystemCallError: Error, CustomStringConvertible, Equatable {
    /// The call or step that failed, e.g. `open`, `rename`.
    var operation: String
    var path: String
    var code: Int32

    init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    var description: String { "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))" }

    /// Whether the failure is a permission problem the operator must fix.
    var isPermissionDenied: Bool { code == EACCES || code == EPERM }
}
