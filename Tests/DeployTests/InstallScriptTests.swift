import Foundation
import Testing

/// Runs `deploy/install.sh --root` into a temporary root with stand-in binaries: install,
/// upgrade (keeps the previous binary and the configuration), roll back.
@Suite("install.sh")
struct InstallScriptTests {
    @Test("installs, upgrades and rolls back", arguments: ["outpost", "outpost-hub"])
    func installUpgradeRollback(binary: String) throws {
        let fm = FileManager.default
        let work = NSTemporaryDirectory() + "outpost-install-\(UUID().uuidString)"
        defer { try? fm.removeItem(atPath: work) }
        let root = work + "/root", build = work + "/build"
        try fm.createDirectory(atPath: build, withIntermediateDirectories: true)
        func writeBuild(_ version: String) throws {
            let script = "#!/bin/sh\necho \"\(binary) \(version) $*\"\n"
            try script.write(toFile: "\(build)/\(binary)", atomically: true, encoding: .utf8)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(build)/\(binary)")
        }
        let script = Tooling.repository + "/deploy/install.sh"
        var arguments = [script, "--bin", build, "--root", root]
        if binary == "outpost-hub" { arguments.append("--hub") }

        try writeBuild("v1")
        let first = try Tooling.run("/bin/bash", arguments)
        #expect(first.status == 0, "\(first.output)")
        let installed = "\(root)/usr/local/bin/\(binary)"
        #expect(try String(contentsOfFile: installed, encoding: .utf8).contains("v1"))
        #expect(fm.fileExists(atPath: "\(root)/etc/systemd/system/\(binary).service"))
        #expect(fm.fileExists(atPath: "\(root)/etc/\(binary)/\(binary).yaml"))
        #expect(fm.fileExists(atPath: "\(root)/var/lib/\(binary)"))
        #expect(fm.fileExists(atPath: "\(root)/usr/local/share/doc/outpost/OPERATIONS.md"))
        #expect(first.output.contains("edit it before starting"))

        try "# edited by the operator\n".write(toFile: "\(root)/etc/\(binary)/\(binary).yaml", atomically: true, encoding: .utf8)
        try writeBuild("v2")
        let upgrade = try Tooling.run("/bin/bash", arguments)
        #expect(upgrade.status == 0, "\(upgrade.output)")
        #expect(upgrade.output.contains("\(binary) v2 check-config --config"))  // the new binary checks the kept config
        #expect(try String(contentsOfFile: installed, encoding: .utf8).contains("v2"))
        #expect(try String(contentsOfFile: installed + ".previous", encoding: .utf8).contains("v1"))
        #expect(try String(contentsOfFile: "\(root)/etc/\(binary)/\(binary).yaml", encoding: .utf8) == "# edited by the operator\n")

        let rollback = try Tooling.run("/bin/bash", arguments + ["--rollback"])
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(try String(contentsOfFile: installed, encoding: .utf8).contains("v1"))
        let again = try Tooling.run("/bin/bash", arguments + ["--rollback"])
        #expect(again.status != 0)
        #expect(again.output.contains("no previous binary"))
    }
}
