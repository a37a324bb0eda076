import Foundation
import Testing
import TestSupport

/// Checks `deploy/systemd/*.service` with the real `systemd-analyze`: `verify` passes and
/// `security` scores each unit at 2.0 or lower.
@Suite("systemd units")
struct SystemdUnitTests {
    static let units = ["outpost.service", "outpost-hub.service"]
    static let analyzeMissing = "systemd-analyze is not installed (apt-get install systemd; scripts/install-deps.sh --test does)"

    @Test("systemd-analyze verify passes", .enabled(if: IntegrationGate.runs(Tooling.find("systemd-analyze") != nil), Comment(rawValue: analyzeMissing)), arguments: units)
    func verify(unit: String) throws {
        let analyze = try #require(Tooling.find("systemd-analyze"), Comment(rawValue: Self.analyzeMissing))
        let root = try Tooling.verifyRoot(with: Self.units)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try Tooling.run(analyze, ["verify", "--root=\(root)", unit])
        #expect(result.status == 0, "systemd-analyze verify \(unit): \(result.output)")
        #expect(result.output.isEmpty, "systemd-analyze verify \(unit) warned: \(result.output)")
    }

    @Test("systemd-analyze security scores 2.0 or lower", .enabled(if: IntegrationGate.runs(Tooling.find("systemd-analyze") != nil), Comment(rawValue: analyzeMissing)), arguments: units)
    func security(unit: String) throws {
        let analyze = try #require(Tooling.find("systemd-analyze"), Comment(rawValue: Self.analyzeMissing))
        let path = Tooling.repository + "/deploy/systemd/" + unit
        let result = try Tooling.run(analyze, ["security", "--offline=true", "--no-pager", path])
        let score = try #require(Tooling.exposure(in: result.output), "no score in: \(result.output)")
        #expect(score <= 2.0, "\(unit) exposure \(score): \(result.output)")
    }

    @Test("the units are Type=notify, check the configuration first and run as their own user", arguments: units)
    func essentials(unit: String) throws {
        let text = try String(contentsOfFile: Tooling.repository + "/deploy/systemd/" + unit, encoding: .utf8)
        let lines = Set(text.split(separator: "\n").map(String.init))
        let binary = unit.replacingOccurrences(of: ".service", with: "")
        #expect(lines.contains("Type=notify"))
        #expect(lines.contains { $0.hasPrefix("ExecStartPre=/usr/bin/\(binary) check-config --config ") })
        #expect(lines.contains("User=\(binary)"))
        #expect(lines.contains { $0.hasPrefix("WatchdogSec=") })
        // systemctl reload: the file is checked, then the service re-reads it on SIGHUP.
        #expect(lines.contains { $0.hasPrefix("ExecReload=/usr/bin/\(binary) check-config --config ") })
        #expect(lines.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        for setting in ["NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes",
                        "CapabilityBoundingSet=", "SystemCallFilter=@system-service"] {
            #expect(lines.contains(setting), "\(unit) lacks \(setting)")
        }
        #expect(lines.contains { $0.hasPrefix("ReadWritePaths=/var/lib/\(binary)") })
        #expect(lines.contains { $0.hasPrefix("RestrictAddressFamilies=") })
    }

    @Test("the hub may open more files than its default max_connections (4096) plus the storage's")
    func hubFileLimit() throws {
        let text = try String(contentsOfFile: Tooling.repository + "/deploy/systemd/outpost-hub.service", encoding: .utf8)
        let limit = text.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") }.flatMap { Int($0.dropFirst("LimitNOFILE=".count)) }
        #expect((limit ?? 0) >= 4096 + 256, "LimitNOFILE=\(limit.map(String.init) ?? "unset (systemd's 1024)")")
    }

    @Test("the exposure parser reads systemd's summary line")
    func parsesExposure() {
        #expect(Tooling.exposure(in: "…\n→ Overall exposure level for outpost.service: 1.4 OK 🙂\n") == 1.4)
        #expect(Tooling.exposure(in: "→ Overall exposure level for x.service: 9.6 UNSAFE 😨") == 9.6)
        #expect(Tooling.exposure(in: "nothing") == nil)
    }
}
