import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The test process's limit on open files (`RLIMIT_NOFILE`).
enum OpenFileLimit {
    /// Raises the soft limit to at least `needed` (up to the hard limit); returns the limit in force.
    @discardableResult
    static func raise(to needed: Int) -> Int {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return 0 }
        if limits.rlim_cur < rlim_t(needed) {
            var raised = limits
            raised.rlim_cur = min(limits.rlim_max, rlim_t(needed))
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        return Int(clamping: limits.rlim_cur)
    }
}
