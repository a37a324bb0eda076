import Foundation

/// Memory of a running process, from `/proc/<pid>/status`.
enum ProcessMemory {
    /// Peak resident set size (`VmHWM`) in MiB, or nil when the process is gone.
    static func peakResidentMiB(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }
}
