import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether the process may open enough files for `max_connections` clients plus the storage:
/// each connection is one file descriptor, and past the limit (`ulimit -n`, systemd's
/// `LimitNOFILE`) accepts fail for everyone.
enum FileDescriptorBudget {
    /// Descriptors kept for the storage, logs and the listener besides the connections.
    static let reserve = 256

    /// The soft limit on open files, raised to the hard limit when it is below
    /// `maxConnections + reserve`; returns the limit in force and whether it suffices.
    static func ensure(maxConnections: Int) -> (limit: Int, suffices: Bool) {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return (0, false) }
        let needed = rlim_t(maxConnections + reserve)
        if limits.rlim_cur < needed, limits.rlim_max > limits.rlim_cur {
            var raised = limits
            raised.rlim_cur = min(limits.rlim_max, max(needed, limits.rlim_cur))
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        return (Int(clamping: limits.rlim_cur), limits.rlim_cur >= needed)
    }
}
