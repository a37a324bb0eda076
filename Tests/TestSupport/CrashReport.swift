import Foundation

/// Whether a program a test runs crashed. A crash does not always end the process at once:
/// the Swift runtime first has its backtracer write a report into the program's output, and
/// with the toolchain's backtracer on a debug build the crashed process can go on for minutes
/// (spinning, its work stopped), so a test also looks for the report in the log.
public enum CrashReport {
    /// The line that opens the runtime's report.
    static let banner = Data("*** Program crashed".utf8)

    /// Signals of a fault (bus error, segmentation fault, abort, illegal instruction, arithmetic
    /// error, trap), as opposed to the ones a test sends (SIGTERM, SIGKILL).
    static let faultSignals: Set<Int32> = [SIGBUS, SIGSEGV, SIGABRT, SIGILL, SIGFPE, SIGTRAP]

    /// What is known of a crash of `name` (whose exit status is `exitStatus`, nil while it runs
    /// or when unknown, 128 + the signal for a signal) from its status and its log at `path`;
    /// nil when nothing says it crashed.
    public static func of(_ name: String, exitStatus: Int32?, logAt path: String) -> String? {
        if let status = exitStatus, status > 128, faultSignals.contains(status - 128) {
            return "\(name) died of signal \(status - 128)"
        }
        if let log = FileManager.default.contents(atPath: path), log.range(of: banner) != nil {
            return "\(name) crashed (the runtime's crash report is in its log)"
        }
        return nil
    }
}
