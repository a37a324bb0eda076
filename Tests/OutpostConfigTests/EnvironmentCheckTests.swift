import Foundation
import Testing

@testable import OutpostConfig

@Suite("Checking the files and directories a configuration names")
struct EnvironmentCheckTests {
    /// A fresh temporary directory, removed when `body` returns.
    private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("outpost-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    private func configuration(root: String) -> AgentConfiguration {
        var drop = FileDropSourceConfiguration(name: "drop", path: "\(root)/in", errorDir: "\(root)/error")
        drop.archiveDir = "\(root)/archive/deep/down"
        var sftp = SFTPSourceConfiguration(name: "sftp", host: "127.0.0.1", user: "erp", remoteDir: "/in")
        sftp.privateKeyFile = "\(root)/id_ed25519"
        sftp.knownHostsFile = "\(root)/known_hosts"
        var hub = HubSinkConfiguration(url: "https://hub.example.com/v1/events")
        hub.tokenFile = "\(root)/hub.token"
        return AgentConfiguration(
            agent: AgentSection(id: "a", region: "r", dataDir: "\(root)/data"), sources: [.fileDrop(drop), .sftp(sftp)],
            hub: hub)
    }

    @Test("a prepared machine has no problems; missing directories that can be created are fine")
    func preparedMachine() throws {
        try withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: false)
            for file in ["id_ed25519", "known_hosts", "hub.token"] {
                #expect(FileManager.default.createFile(atPath: "\(root)/\(file)", contents: Data("x\n".utf8)))
            }
            for secret in ["id_ed25519", "hub.token"] { chmod("\(root)/\(secret)", 0o600) }
            #expect(ConfigLoader.checkEnvironment(configuration(root: root)) == [])
        }
    }

    @Test("a token or private key file readable by group or others is refused, with chmod 600 as the fix")
    func laxSecretFiles() throws {
        try withTemporaryDirectory { root in
            try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: false)
            for file in ["id_ed25519", "known_hosts", "hub.token"] {
                #expect(FileManager.default.createFile(atPath: "\(root)/\(file)", contents: Data("x\n".utf8)))
            }
            chmod("\(root)/known_hosts", 0o644)  // not a secret: others may read it
            chmod("\(root)/id_ed25519", 0o640)
            chmod("\(root)/hub.token", 0o604)
            let problems = ConfigLoader.checkEnvironment(configuration(root: root))
            #expect(problems.map(\.keyPath) == ["sources[1].private_key_file", "hub.token_file"])
            #expect(problems.first?.message.contains("readable by its group (mode 0640)") == true, "\(problems)")
            #expect(problems.last?.message.contains("readable by others (mode 0604)") == true, "\(problems)")
            #expect(problems.map(\.fix) == ["chmod 600 \(root)/id_ed25519", "chmod 600 \(root)/hub.token"])
            chmod("\(root)/id_ed25519", 0o400)
            chmod("\(root)/hub.token", 0o600)
            #expect(ConfigLoader.checkEnvironment(configuration(root: root)) == [])
        }
    }

    @Test("missing files, a missing drop directory and uncreatable directories are each reported")
    func unpreparedMachine() throws {
        try withTemporaryDirectory { root in
            // `data` exists as a file, so data_dir cannot be a directory; `error`'s parent is a file too.
            #expect(FileManager.default.createFile(atPath: "\(root)/data", contents: nil))
            var config = configuration(root: root)
            guard case .fileDrop(var drop) = config.sources[0] else {
                Issue.record("the fixture's first source is not a file drop: \(config.sources[0])")
                return
            }
            drop.errorDir = "\(root)/data/error"
            config.sources[0] = .fileDrop(drop)
            try FileManager.default.createDirectory(atPath: "\(root)/hub.token", withIntermediateDirectories: false)

            let problems = ConfigLoader.checkEnvironment(config)
            #expect(
                problems.map(\.keyPath) == [
                    "agent.data_dir", "sources[0].path", "sources[0].error_dir", "sources[1].private_key_file",
                    "sources[1].known_hosts_file", "hub.token_file",
                ])
            #expect(problems[0].message == "\(root)/data exists but is not a directory")
            #expect(problems[1].message == "\(root)/in does not exist")
            #expect(problems[2].message == "\(root)/data/error cannot be created: \(root)/data is a file")
            #expect(problems[5].message == "\(root)/hub.token is a directory, not a file")
        }
    }

    @Test("a drop path that is a file is reported")
    func dropPathIsAFile() throws {
        try withTemporaryDirectory { root in
            #expect(FileManager.default.createFile(atPath: "\(root)/in", contents: nil))
            let problems = ConfigLoader.checkEnvironment(configuration(root: root))
            #expect(problems.first { $0.keyPath == "sources[0].path" }?.message == "\(root)/in is not a directory")
        }
    }

    @Test("the hub's SQLite directory must exist or be creatable")
    func hubStorage() throws {
        try withTemporaryDirectory { root in
            #expect(FileManager.default.createFile(atPath: "\(root)/file", contents: nil))
            let good = HubConfiguration(storage: .sqlite(path: "\(root)/db/hub.sqlite"), agents: [])
            #expect(ConfigLoader.checkEnvironment(good) == [])
            let bad = HubConfiguration(storage: .sqlite(path: "\(root)/file/hub.sqlite"), agents: [])
            #expect(ConfigLoader.checkEnvironment(bad).map(\.keyPath) == ["storage.sqlite"])
        }
    }
}
