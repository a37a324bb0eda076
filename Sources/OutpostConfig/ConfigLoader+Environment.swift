import EventModel
import Foundation

/// Checks what a loaded configuration names on this machine: files it must read and
/// directories it must use. Separate from loading so `check-config` can report both, and so
/// configurations can be loaded (and tested) on machines that are not the target host.
extension ConfigLoader {
    /// Problems with the agent's files and directories: credential files that are missing,
    /// unreadable or readable by group or others (``SecretFilePermissions``), a `data_dir`/`archive_dir`/`error_dir` that neither exists as a writable
    /// directory nor can be created, and drop directories that are missing or not writable.
    public static func checkEnvironment(_ config: AgentConfiguration) -> [ConfigProblem] {
        var probe = EnvironmentProbe()
        probe.creatableDirectory("agent.data_dir", config.agent.dataDir)
        for (index, source) in config.sources.enumerated() {
            let path = "sources[\(index)]"
            switch source {
            case .fileDrop(let drop):
                probe.existingDirectory("\(path).path", drop.path)
                probe.creatableDirectory("\(path).error_dir", drop.errorDir)
                probe.creatableDirectory("\(path).archive_dir", drop.archiveDir)
            case .sftp(let sftp):
                probe.secretFile("\(path).private_key_file", sftp.privateKeyFile)
                probe.secretFile("\(path).passphrase_file", sftp.passphraseFile)
                probe.secretFile("\(path).password_file", sftp.passwordFile)
                probe.readableFile("\(path).known_hosts_file", sftp.knownHostsFile)
            case .amqp(let amqp):
                probe.secretFile("\(path).credentials_file", amqp.credentialsFile)
            }
        }
        probe.secretFile("hub.token_file", config.hub.tokenFile)
        probe.secretFile("hub.credentials_file", config.hub.credentialsFile)
        probe.secretFile("hub.proxy_credentials_file", config.hub.proxyCredentialsFile)
        probe.readableFile("hub.ca_file", config.hub.caFile)
        probe.readableFile("hub.client_cert_file", config.hub.clientCertFile)
        probe.secretFile("hub.client_key_file", config.hub.clientKeyFile)
        return probe.problems
    }

    /// Problems with the hub's files: the SQLite database's directory must exist or be creatable,
    /// TLS certificate and key files must be readable.
    public static func checkEnvironment(_ config: HubConfiguration) -> [ConfigProblem] {
        var probe = EnvironmentProbe()
        if case .sqlite(let path) = config.storage {
            probe.creatableDirectory("storage.sqlite", (path as NSString).deletingLastPathComponent)
        }
        probe.readableFile("tls.cert_file", config.tls?.certFile)
        probe.readableFile("tls.key_file", config.tls?.keyFile)
        probe.readableFile("tls.client_ca_file", config.tls?.clientCAFile)
        return probe.problems
    }
}

/// File-system checks that record a ``ConfigProblem`` for each failure.
private struct EnvironmentProbe {
    private(set) var problems: [ConfigProblem] = []
    private let files = FileManager.default

    /// A regular file the process can read.
    mutating func readableFile(
        _ keyPath: String, _ path: String?,
        fix unreadableFix: String = "give the outpost user read access (e.g. chgrp outpost + chmod 640)"
    ) {
        guard let path else { return }
        var isDirectory: ObjCBool = false
        if !files.fileExists(atPath: path, isDirectory: &isDirectory) {
            report(keyPath, "\(path) does not exist", fix: "create it, or correct the path")
        } else if isDirectory.boolValue {
            report(keyPath, "\(path) is a directory, not a file", fix: "point \(keyPath) at the file itself")
        } else if !files.isReadableFile(atPath: path) {
            report(keyPath, "\(path) is not readable by this user", fix: unreadableFix)
        }
    }

    /// A readable file holding a secret: also readable by its owner alone.
    mutating func secretFile(_ keyPath: String, _ path: String?) {
        guard let path else { return }
        let before = problems.count
        readableFile(keyPath, path, fix: "give it to the outpost user, readable by it alone: chown outpost \(path) && chmod 600 \(path)")
        guard problems.count == before, let problem = SecretFilePermissions.problem(path: path, key: keyPath) else { return }
        report(keyPath, problem, fix: "chmod 600 \(path)")
    }

    /// A directory that exists and that the process can list and change (files are moved out of it).
    mutating func existingDirectory(_ keyPath: String, _ path: String) {
        var isDirectory: ObjCBool = false
        if !files.fileExists(atPath: path, isDirectory: &isDirectory) {
            report(keyPath, "\(path) does not exist", fix: "create the directory, or correct the path")
        } else if !isDirectory.boolValue {
            report(keyPath, "\(path) is not a directory", fix: "point \(keyPath) at a directory")
        } else if !files.isReadableFile(atPath: path) || !files.isWritableFile(atPath: path) {
            report(
                keyPath, "\(path) is not readable and writable by this user",
                fix: "give the outpost user read and write access; picked-up files are moved or deleted")
        }
    }

    /// A writable directory, or one that can be created because its nearest existing ancestor
    /// is a writable directory.
    mutating func creatableDirectory(_ keyPath: String, _ path: String?) {
        guard let path else { return }
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue {
                report(keyPath, "\(path) exists but is not a directory", fix: "remove the file or choose another path")
            } else if !files.isWritableFile(atPath: path) {
                report(keyPath, "\(path) is not writable by this user", fix: "give the outpost user write access")
            }
            return
        }
        var ancestor = (path as NSString).deletingLastPathComponent
        while !files.fileExists(atPath: ancestor, isDirectory: &isDirectory) {
            let parent = (ancestor as NSString).deletingLastPathComponent
            guard parent != ancestor, !parent.isEmpty else {
                report(keyPath, "\(path) cannot be created: no parent directory exists", fix: "use an absolute path")
                return
            }
            ancestor = parent
        }
        if !isDirectory.boolValue {
            report(keyPath, "\(path) cannot be created: \(ancestor) is a file", fix: "choose a path under a directory")
        } else if !files.isWritableFile(atPath: ancestor) {
            report(
                keyPath, "\(path) does not exist and cannot be created: \(ancestor) is not writable",
                fix: "create \(path) and give the outpost user write access")
        }
    }

    private mutating func report(_ keyPath: String, _ message: String, fix: String) {
        problems.append(ConfigProblem(keyPath: keyPath, message: message, fix: fix))
    }
}
