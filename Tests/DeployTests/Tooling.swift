import Foundation
import TestSupport

/// Running the system tools the deployment tests check against.
enum Tooling {
    /// The package root (the directory holding Package.swift above this file).
    static var repository: String { PackageLayout.root.path }

    /// The absolute path of `tool` in the usual binary directories, if installed.
    static func find(_ tool: String) -> String? {
        ["/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin"].map { "\($0)/\(tool)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `tool` and returns its exit status and combined output.
    static func run(_ tool: String, _ arguments: [String], timeout: Double = 120) throws -> (status: Int32, output: String) {
        let result = try Subprocess.runBlocking(tool, arguments, combineOutput: true, timeout: timeout)
        return (result.status, result.stdout)
    }

    /// `→ Overall exposure level for X: 1.4 OK` → 1.4
    static func exposure(in output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("Overall exposure level") }),
              let colon = line.lastIndex(of: ":")
        else { return nil }
        return line[line.index(after: colon)...].split(separator: " ").first.flatMap { Double($0) }
    }

    /// A throwaway root for `systemd-analyze verify --root`: the system's own unit files (so
    /// dependencies such as sysinit.target resolve), the units under test in
    /// /etc/systemd/system, and stand-ins for the binaries they start.
    static func verifyRoot(with units: [String]) throws -> String {
        let root = NSTemporaryDirectory() + "outpost-units-\(UUID().uuidString)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/etc/systemd/system", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/usr/lib/systemd", withIntermediateDirectories: true)
        for system in ["/usr/lib/systemd/system", "/lib/systemd/system"] where fm.fileExists(atPath: system) {
            try fm.copyItem(atPath: system, toPath: root + "/usr/lib/systemd/system")
            break
        }
        for unit in units {
            try fm.copyItem(atPath: repository + "/deploy/systemd/" + unit, toPath: root + "/etc/systemd/system/" + unit)
            let binary = root + "/usr/bin/" + unit.replacingOccurrences(of: ".service", with: "")
            try "#!/bin/sh\n".write(toFile: binary, atomically: true, encoding: .utf8)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        }
        return root
    }
}
