import EventModel
import Foundation
import Glibc
@testable import SFTPSource
import Synchronization
import Testing
import TestSupport

@Suite(.enabled(if: IntegrationGate.runs(TestSSHServer.isAvailable), "needs OpenSSH's /usr/sbin/sshd: apt-get install -y openssh-server"))
struct SFTPSourceTests {
    @Test("key auth (ed25519, RSA with passphrase, ECDSA): picks up a file and moves it to the archive")
    func keyAuthentication() async throws {
        let fixture = try SFTPFixture()
        for (type, passphrase) in [("ed25519", ""), ("rsa", "correct horse"), ("ecdsa", "")] {
            let key = try fixture.server.authorizeKey(type: type, passphrase: passphrase)
            var settings = try fixture.settings(key: key)
            if !passphrase.isEmpty { settings.passphraseFile = try fixture.server.writeSecret(passphrase, name: "phrase-\(type)") }
            let intake = HashingIntake()
            let source = SFTPSource(settings: settings, intake: intake, logger: SFTPFixture.logger())
            try fixture.write("ORDERS_\(type).xml", "<doc>\(type)</doc>")
            try await fixture.running(source) {
                try await eventually("\(type): file archived") { fixture.exists(fixture.archive + "/ORDERS_\(type).xml") }
            }
            #expect(intake.submittedNames == ["ORDERS_\(type).xml"], "\(type)")
            #expect(intake.submissions.first?.content == Array("<doc>\(type)</doc>".utf8))
            #expect(fixture.isGone(fixture.inbox + "/ORDERS_\(type).xml"))
            #expect(source.status.filesPickedUp == 1)
        }
    }

    @Test("password auth from a file, when there is no key")
    func passwordAuthentication() async throws {
        let fixture = try SFTPFixture()
        let password = try fixture.server.writeSecret(TestSSHServer.password, name: "password")
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.settings(password: password, after: .delete), intake: intake, logger: SFTPFixture.logger())
        try fixture.write("a.xml", "<a/>")
        try await fixture.running(source) {
            try await eventually("file deleted") { fixture.isGone(fixture.inbox + "/a.xml") }
        }
        #expect(intake.submittedNames == ["a.xml"])
    }

    @Test("a wrong or unknown host key stops the source with the host, the offered fingerprint and the fix")
    func wrongHostKeyRefused() async throws {
        let fixture = try SFTPFixture()
        let otherKey = try fixture.server.authorizeKey(type: "ed25519")
        let otherPublic = try String(contentsOfFile: otherKey + ".pub", encoding: .utf8).split(separator: " ")
        let fingerprint = try fixture.server.fingerprint
        let key = try fixture.server.authorizeKey(type: "ed25519")
        let changed = try fixture.server.writeKnownHosts(contents: "[127.0.0.1]:\(fixture.server.port) \(otherPublic[0]) \(otherPublic[1])\n")
        let unknown = try fixture.server.writeKnownHosts(contents: "[example.net]:22 \(otherPublic[0]) \(otherPublic[1])\n")
        let cases: [(SFTPSourceSettings.HostKeyCheck, String)] = [
            (.knownHosts(file: changed), "does NOT match"),
            (.knownHosts(file: unknown), "is not in known_hosts_file"),
            (.fingerprint("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"), "not the pinned host_key_fingerprint"),
        ]
        try fixture.write("secret.xml", "<secret/>")
        for (check, phrase) in cases {
            let intake = HashingIntake()
            let source = SFTPSource(settings: try fixture.settings(key: key, hostKeyCheck: check), intake: intake, logger: SFTPFixture.logger())
            try await fixture.running(source) {
                try await eventually("source stopped") { source.status.stoppedReason != nil }
            }
            let reason = source.status.stoppedReason ?? ""
            #expect(reason.contains(phrase), "\(reason)")
            #expect(reason.contains("[127.0.0.1]:\(fixture.server.port)"), "\(reason)")
            #expect(reason.contains(fingerprint), "\(reason)")
            #expect(intake.submissions.isEmpty)
        }
        #expect(fixture.exists(fixture.inbox + "/secret.xml"))
    }

    @Test("a host key marked @revoked in known_hosts is refused, naming the file and line, even beside a matching entry")
    func revokedHostKeyRefused() async throws {
        let fixture = try SFTPFixture()
        let key = try fixture.server.authorizeKey(type: "ed25519")
        let entry = try fixture.server.knownHostsLine
        let parts = entry.split(separator: " ")
        let file = try fixture.server.writeKnownHosts(
            contents: "# servers\n" + entry + "@revoked * \(parts[1]) \(parts[2])")
        let intake = HashingIntake()
        let source = SFTPSource(
            settings: try fixture.settings(key: key, hostKeyCheck: .knownHosts(file: file)), intake: intake,
            logger: SFTPFixture.logger())
        try fixture.write("secret.xml", "<secret/>")
        try await fixture.running(source) {
            try await eventually("source stopped") { source.status.stoppedReason != nil }
        }
        let reason = source.status.stoppedReason ?? ""
        #expect(reason.contains("revoked"), "\(reason)")
        #expect(reason.contains("\(file) line 3"), "\(reason)")
        #expect(reason.contains(try fixture.server.fingerprint), "\(reason)")
        #expect(intake.submissions.isEmpty)
        #expect(fixture.exists(fixture.inbox + "/secret.xml"))
    }

    @Test("a password, passphrase or private key file readable by group or others is refused with the fix")
    func laxSecretFilesRefused() async throws {
        let fixture = try SFTPFixture()
        let key = try fixture.server.authorizeKey(type: "ed25519")
        let password = try fixture.server.writeSecret(TestSSHServer.password, name: "password")
        for (file, settings) in [
            (key, try fixture.settings(key: key)),
            (password, try fixture.settings(password: password)),
        ] {
            chmod(file, 0o640)
            let intake = HashingIntake()
            let source = SFTPSource(settings: settings, intake: intake, logger: SFTPFixture.logger())
            try fixture.write("lax.xml", "<lax/>")
            try await fixture.running(source) {
                try await eventually("the refusal reported") { source.status.lastError != nil }
            }
            let error = source.status.lastError ?? ""
            #expect(error.contains("chmod 600 \(file)"), "\(error)")
            #expect(intake.submissions.isEmpty)
            chmod(file, 0o600)
        }
        #expect(throws: SSHFailure.self) {
            let phrase = try fixture.server.writeSecret("phrase", name: "phrase")
            chmod(phrase, 0o604)
            _ = try SecretFile.read(phrase, key: "passphrase_file")
        }
    }

    @Test("hashed known_hosts entries and a pinned fingerprint are accepted")
    func hashedKnownHostsAndPin() async throws {
        let fixture = try SFTPFixture()
        let key = try fixture.server.authorizeKey(type: "ed25519")
        let checks: [SFTPSourceSettings.HostKeyCheck] = [
            .knownHosts(file: try fixture.server.writeKnownHosts(hashed: true)),
            .fingerprint(try fixture.server.fingerprint),
        ]
        let hashed = try String(contentsOfFile: { if case .knownHosts(let f) = checks[0] { f } else { "" } }(), encoding: .utf8)
        #expect(hashed.hasPrefix("|1|"), "ssh-keygen -H hashed the entry")
        for (index, check) in checks.enumerated() {
            let intake = HashingIntake()
            let source = SFTPSource(settings: try fixture.settings(key: key, hostKeyCheck: check), intake: intake, logger: SFTPFixture.logger())
            try fixture.write("f\(index).xml", "<f\(index)/>")
            try await fixture.running(source) {
                try await eventually("file \(index) picked up") { intake.submittedNames == ["f\(index).xml"] }
            }
            #expect(source.status.stoppedReason == nil)
        }
    }

    @Test("a file uploaded slowly is picked up only once complete, exactly once")
    func slowUploadWaitsUntilComplete() async throws {
        let fixture = try SFTPFixture()
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(settle: 0.6), intake: intake, logger: SFTPFixture.logger())
        let path = fixture.inbox + "/slow.xml"
        FileManager.default.createFile(atPath: path, contents: nil)
        chmod(path, 0o644)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var expected = ""
        try await fixture.running(source) {
            for chunk in 0..<8 {
                let piece = "<chunk n=\"\(chunk)\">" + String(repeating: "x", count: 100) + "</chunk>\n"
                handle.write(Data(piece.utf8))
                expected += piece
                try await Task.sleep(for: .milliseconds(350))
                #expect(intake.submissions.isEmpty, "picked up while still being written (chunk \(chunk))")
            }
            try handle.close()
            try await eventually("file archived") { fixture.exists(fixture.archive + "/slow.xml") }
        }
        #expect(intake.submissions.count == 1)
        #expect(intake.submissions.first?.content == Array(expected.utf8))
    }

    @Test("done marker: a file is picked up as soon as its marker exists; the marker is removed")
    func doneMarker() async throws {
        let fixture = try SFTPFixture()
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(doneMarker: ".done", settle: 3600), intake: intake, logger: SFTPFixture.logger())
        try fixture.write("m.xml", "<m/>", age: 0)
        try await fixture.running(source) {
            try await Task.sleep(for: .milliseconds(500))
            #expect(intake.submissions.isEmpty, "picked up without its marker")
            try fixture.write("m.xml.done", "", age: 0)
            try await eventually("file archived") { fixture.exists(fixture.archive + "/m.xml") }
        }
        #expect(intake.submittedNames == ["m.xml"])
        #expect(!fixture.exists(fixture.inbox + "/m.xml.done"))
    }

    @Test("after: move never overwrites an archived file; after: delete removes")
    func moveAndDelete() async throws {
        let fixture = try SFTPFixture()
        try FileManager.default.createDirectory(atPath: fixture.archive, withIntermediateDirectories: true)
        chmod(fixture.archive, 0o777)
        try fixture.write("same.xml", "<old/>", in: fixture.archive)
        try fixture.write("same.xml", "<new/>")
        let intake = HashingIntake()
        let move = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(move) {
            try await eventually("moved beside the old one") { fixture.exists(fixture.archive + "/same.xml.1") }
        }
        #expect(try String(contentsOfFile: fixture.archive + "/same.xml", encoding: .utf8) == "<old/>")
        #expect(try String(contentsOfFile: fixture.archive + "/same.xml.1", encoding: .utf8) == "<new/>")

        try fixture.write("gone.xml", "<gone/>")
        let delete = SFTPSource(settings: try fixture.keySettings(after: .delete), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(delete) {
            try await eventually("deleted") { fixture.isGone(fixture.inbox + "/gone.xml") }
        }
        #expect(intake.submittedNames == ["same.xml", "gone.xml"])
        #expect(!fixture.exists(fixture.archive + "/gone.xml"))
    }

    @Test("2,000 files in one directory: each picked up exactly once")
    func twoThousandFiles() async throws {
        let fixture = try SFTPFixture()
        for index in 0..<2000 { try fixture.write(String(format: "IDOC_%05d.xml", index), "<idoc n=\"\(index)\"/>") }
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(after: .delete), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually(timeout: 120, "all 2000 deleted") { fixture.names(in: fixture.inbox).isEmpty }
        }
        #expect(intake.submissions.count == 2000)
        #expect(Set(intake.submittedNames).count == 2000)
        #expect(source.status.filesPickedUp == 2000)
    }

    @Test("a permission-denied file is reported and left; the other files are picked up")
    func permissionDeniedFile() async throws {
        let fixture = try SFTPFixture()
        let locked = try fixture.write("locked.xml", "<locked/>")
        chmod(locked, 0o000)
        try fixture.write("open.xml", "<open/>")
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually("readable file archived") { fixture.exists(fixture.archive + "/open.xml") }
            try await eventually("error published") { source.status.lastError?.contains("locked.xml") ?? false }
            try fixture.write("later.xml", "<later/>")
            try await eventually("a later file is still picked up") { fixture.exists(fixture.archive + "/later.xml") }
        }
        #expect(intake.submittedNames.sorted() == ["later.xml", "open.xml"])
        #expect(fixture.exists(locked))
        #expect(source.status.stoppedReason == nil)
    }

    @Test("a refused file goes to remote_error_dir with a reason file and is not read again")
    func refusedFileQuarantined() async throws {
        let fixture = try SFTPFixture()
        chmod(fixture.server.remoteRoot, 0o777)
        let intake = HashingIntake()
        intake.refuse(with: DocumentRejection(.malformedXML, "line 1: bad"))
        let source = SFTPSource(settings: try fixture.keySettings(errorDirectory: fixture.errors), intake: intake, logger: SFTPFixture.logger())
        try fixture.write("bad.xml", "<bad")
        try await fixture.running(source) {
            try await eventually("quarantined") { fixture.exists(fixture.errors + "/bad.xml.reason.json") }
        }
        let reason = try String(contentsOfFile: fixture.errors + "/bad.xml.reason.json", encoding: .utf8)
        #expect(reason.contains("\"reason\":\"malformed_xml\""))
        #expect(fixture.exists(fixture.errors + "/bad.xml"))
        #expect(intake.submittedNames == ["bad.xml"])
        #expect(source.status.filesRejected == 1)
    }

    @Test("the staging directory (documents at rest) is its owner's alone")
    func stagingDirectoryOwnerOnly() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("staging-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try StagingArea(directory: root + "/staging/src").prepare()
        for directory in [root + "/staging", root + "/staging/src"] {
            var st = stat()
            #expect(stat(directory, &st) == 0)
            #expect(st.st_mode & 0o777 == 0o700, "\(directory)")
        }
    }

    @Test("without remote_error_dir a refused file is left under its own name and not read again")
    func refusedFileLeft() async throws {
        let fixture = try SFTPFixture()
        let intake = HashingIntake()
        intake.refuse(with: DocumentRejection(.malformedXML, "line 1: bad"))
        let source = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try fixture.write("bad.xml", "<bad")
        try await fixture.running(source) {
            try await eventually("refused") { source.status.filesRejected == 1 }
            try await Task.sleep(for: .milliseconds(800))
        }
        #expect(fixture.names(in: fixture.inbox) == ["bad.xml"], "not hidden under its claim name")
        #expect(intake.submittedNames == ["bad.xml"])
    }

    @Test("a failed remote acknowledgement is retried without ingesting the file again")
    func failedAcknowledgementIsRemembered() async throws {
        let fixture = try SFTPFixture()
        try FileManager.default.createDirectory(atPath: fixture.archive, withIntermediateDirectories: true)
        chmod(fixture.archive, 0o755)  // owned by root: the SFTP user cannot move files into it
        try fixture.write("keep.xml", "<keep/>")
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually("acknowledgement pending") { source.status.acknowledgementsPending == 1 }
            try await Task.sleep(for: .milliseconds(600))
            #expect(intake.submissions.count == 1, "the file was ingested again while its move kept failing")
            chmod(fixture.archive, 0o777)
            try await eventually("archived once the directory is writable") { fixture.exists(fixture.archive + "/keep.xml") }
        }
        #expect(intake.submissions.count == 1)
        #expect(source.status.acknowledgementsPending == 0)
    }

    @Test("intake backpressure pauses the poller; files stay on the server")
    func backpressurePauses() async throws {
        let fixture = try SFTPFixture()
        let intake = HashingIntake()
        intake.setAccepting(false)
        let source = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try fixture.write("wait.xml", "<wait/>")
        try await fixture.running(source) {
            try await Task.sleep(for: .milliseconds(800))
            #expect(intake.submissions.isEmpty)
            #expect(fixture.exists(fixture.inbox + "/wait.xml"))
            intake.setAccepting(true)
            try await eventually("picked up after the pause") { fixture.exists(fixture.archive + "/wait.xml") }
        }
        #expect(intake.submittedNames == ["wait.xml"])
    }

    @Test("a failed submission leaves the file and retries it from the staged copy, in memory or on disk")
    func failedSubmissionRetried() async throws {
        let fixture = try SFTPFixture(logRequests: true)
        let intake = HashingIntake()
        intake.failNext(4)
        let source = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try fixture.write("retry.xml", "<retry/>", age: 30)
        // Above the in-memory limit: staged on disk.
        let large = String(repeating: "<x/>", count: Int(StagingArea.inMemoryLimit) / 4 + 1)
        try fixture.write("retry-large.xml", large, age: 20)
        try await fixture.running(source) {
            try await eventually(timeout: 30, "archived after retries") {
                fixture.names(in: fixture.archive) == ["retry-large.xml", "retry.xml"]
            }
        }
        #expect(intake.submittedNames == ["retry.xml", "retry-large.xml"])
        #expect(intake.submissions.map(\.inMemory) == [true, false])
        #expect(intake.submissions.last?.sha256 == HashingIntake.sha256Hex(Array(large.utf8)))
        // sftp-server logs `request N: read "PATH" (handle H) off OFFSET len LENGTH` (CRLF).
        let log = try String(contentsOfFile: fixture.server.requestLog, encoding: .utf8)
        for name in ["retry.xml", "retry-large.xml"] {
            let firstReads = log.split(whereSeparator: \.isNewline).filter {
                $0.contains(": read \"") && $0.contains("\(name)\"") && $0.contains(" off 0 ")
            }
            #expect(firstReads.count == 1, "\(name) downloaded once, then submitted again from its staged copy: \(firstReads)")
        }
    }

    @Test("later files download while earlier ones commit; each is acknowledged only after its own commit")
    func downloadOverlapsCommit() async throws {
        let fixture = try SFTPFixture()
        let slots = StagingArea.slots
        // Two more files than slots: the bound on files in flight is visible.
        let names = (0..<(slots + 2)).map { String(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))) + ".xml" }
        for (index, name) in names.enumerated() {
            try fixture.write(name, "<\(name.prefix(1))/>", age: 30 - Double(index))
        }
        let intake = HashingIntake()
        intake.hold()
        let source = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually("\(slots) files downloaded while a is being committed") {
                intake.begunNames == Array(names.prefix(slots))
            }
            try await Task.sleep(for: .milliseconds(400))
            #expect(intake.begunNames == Array(names.prefix(slots)), "no more files in flight than staging slots")
            #expect(intake.submissions.isEmpty)
            #expect(fixture.documentNames(in: fixture.inbox).filter { $0.hasSuffix(".xml") } == names,
                    "nothing is acknowledged before its commit")
            #expect(fixture.names(in: fixture.staging).isEmpty, "small files are staged in memory, not on disk")
            intake.release()
            try await eventually("all archived") { fixture.names(in: fixture.archive) == names }
        }
        #expect(intake.begunNames == names)
        #expect(intake.submissions.map(\.content) == names.map { Array("<\($0.prefix(1))/>".utf8) },
                "each from its own staged copy")
        #expect(intake.submissions.allSatisfy { $0.inMemory })
    }

    @Test("sshd killed while a commit is pending: after the restart both files are acknowledged, each submitted once")
    func serverKilledDuringCommit() async throws {
        let fixture = try SFTPFixture()
        try fixture.write("a.xml", "<a/>", age: 30)
        try fixture.write("b.xml", "<b/>", age: 20)
        let intake = HashingIntake()
        intake.hold()
        let source = SFTPSource(settings: try fixture.keySettings(), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually("both in flight") { intake.begunNames == ["a.xml", "b.xml"] }
            fixture.server.kill()
            intake.release()
            try await eventually("both committed") { intake.submissions.count == 2 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(fixture.documentNames(in: fixture.inbox).filter { $0.hasSuffix(".xml") } == ["a.xml", "b.xml"])
            try fixture.server.start()
            try await eventually(timeout: 30, "both archived after the restart") {
                fixture.names(in: fixture.archive) == ["a.xml", "b.xml"]
            }
        }
        #expect(intake.submittedNames.sorted() == ["a.xml", "b.xml"], "each submitted once")
        #expect(intake.begunNames == ["a.xml", "b.xml"], "not downloaded again")
    }

    @Test("sshd killed mid-download and restarted: the file arrives once, complete")
    func serverKilledMidDownload() async throws {
        let fixture = try SFTPFixture()
        let size = 160 << 20
        let path = fixture.inbox + "/big.dat"
        var bytes = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 4096) { bytes[index] = UInt8(truncatingIfNeeded: index >> 12) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let expectedSHA = HashingIntake.sha256Hex(bytes)
        chmod(path, 0o644)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -5)], ofItemAtPath: path)
        let expected = bytes.count
        bytes = []
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(after: .delete), intake: intake, logger: SFTPFixture.logger())
        let staged = fixture.staging + "/download.partial"
        try await fixture.running(source) {
            try await eventually("download under way") {
                let size = (try? FileManager.default.attributesOfItem(atPath: staged)[.size] as? Int) ?? 0
                return size > 0
            }
            fixture.server.kill()
            let partial = (try? FileManager.default.attributesOfItem(atPath: staged)[.size] as? Int) ?? 0
            #expect(partial < expected, "the download finished before sshd was killed; the test proves nothing")
            try await Task.sleep(for: .milliseconds(500))
            #expect(intake.submissions.isEmpty, "a partial document was submitted")
            try fixture.server.start()
            try await eventually(timeout: 60, "file deleted after the restart") { fixture.isGone(path) }
        }
        #expect(intake.submissions.count == 1)
        #expect(intake.submissions.first?.size == Int64(expected))
        #expect(intake.submissions.first?.sha256 == expectedSHA)
    }

    @Test("downloads ask the server for no bytes past a file's end (libssh2 reads ahead)")
    func noReadRequestsPastTheEnd() async throws {
        let fixture = try SFTPFixture(logRequests: true)
        // Sizes around libssh2's 30,000-byte requests, its 4× read-ahead, and past the 8 MiB
        // it keeps in flight at most.
        let sizes = [1, 3, 4_999, 30_000, 30_001, 59_999, 100_003, 1_000_000, 3_000_001, 9_000_001]
        var expected: [String: (size: Int, sha256: String)] = [:]
        for (index, size) in sizes.enumerated() {
            let name = "FILE_\(index).dat"
            var bytes = [UInt8](repeating: 0, count: size)
            for offset in 0..<size { bytes[offset] = UInt8(truncatingIfNeeded: offset &* 31 &+ index) }
            let path = fixture.inbox + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o644)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -5)], ofItemAtPath: path)
            expected[name] = (size, HashingIntake.sha256Hex(bytes))
        }
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(after: .delete), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually(timeout: 60, "all files deleted") { fixture.names(in: fixture.inbox).isEmpty }
        }
        #expect(intake.submissions.count == sizes.count)
        for submission in intake.submissions {
            #expect(submission.size == Int64(expected[submission.fileName]?.size ?? -1), "\(submission.fileName)")
            #expect(submission.sha256 == expected[submission.fileName]?.sha256, "\(submission.fileName)")
        }
        // sftp-server logs `request N: read "PATH" (handle H) off OFFSET len LENGTH` (CRLF).
        var requests: [String: (count: Int, pastEnd: Int)] = [:]
        for line in try String(contentsOfFile: fixture.server.requestLog, encoding: .utf8).split(whereSeparator: \.isNewline) where line.contains(": read \"") {
            guard let name = expected.keys.first(where: { line.contains($0 + "\"") }),
                  let offset = line.split(separator: " off ").last?.split(separator: " ").first.flatMap({ Int($0) })
            else { continue }
            requests[name, default: (0, 0)].count += 1
            if offset >= expected[name]!.size { requests[name, default: (0, 0)].pastEnd += 1 }
        }
        for (index, size) in sizes.enumerated() {
            let name = "FILE_\(index).dat"
            let seen = requests[name] ?? (0, 0)
            #expect(seen.count >= (size + 29_999) / 30_000, "\(name): \(seen.count) read requests logged; is the SFTP server logging?")
            // Beyond what libssh2 keeps in flight, a batch of requests may end in one probe.
            #expect(seen.pastEnd <= (size > 8 << 20 ? 1 : 0), "\(name) (\(size) bytes): \(seen.pastEnd) read requests past the end")
        }
    }

    @Test("a download into memory returns the whole file, or nothing: changed, cancelled or refused")
    func downloadIntoMemoryWholeOrNothing() async throws {
        let fixture = try SFTPFixture()
        var content = [UInt8](repeating: 0, count: 1_000_003)
        for offset in content.indices { content[offset] = UInt8(truncatingIfNeeded: offset &* 7 &+ offset >> 9) }
        let path = fixture.inbox + "/whole.dat"
        try Data(content).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        let connection = try SSHConnection(settings: try fixture.keySettings())
        defer { connection.close(graceful: true) }
        let listed = try #require(try connection.stat(path))
        let never = { false }

        let whole = try connection.downloadIntoMemory(path, expected: listed, maxSize: 1 << 30, isCancelled: never)
        #expect(whole.result == .complete(listed))
        // Compared outside #expect: its diff of two megabyte arrays would take minutes.
        let identical = whole.bytes == content
        #expect(identical, "every byte, in place (got \(whole.bytes.count) bytes)")

        var older = listed
        older.mtime -= 60
        let changed = try connection.downloadIntoMemory(path, expected: older, maxSize: 1 << 30, isCancelled: never)
        #expect(changed.result == .changed(listed))
        #expect(changed.bytes.isEmpty, "nothing of a file that is not the one listed")

        let tooLarge = try connection.downloadIntoMemory(path, expected: listed, maxSize: 1000, isCancelled: never)
        #expect(tooLarge.result == .tooLarge(listed) && tooLarge.bytes.isEmpty)

        let gone = try connection.downloadIntoMemory(path + ".missing", expected: listed, maxSize: 1 << 30, isCancelled: never)
        #expect(gone.result == .vanished && gone.bytes.isEmpty)

        // Cancelled after the first read: throws, no partial bytes come back.
        let reads = Mutex(0)
        #expect(throws: SSHFailure.cancelled) {
            _ = try connection.downloadIntoMemory(path, expected: listed, maxSize: 1 << 30) {
                reads.withLock { count in
                    count += 1
                    return count > 1
                }
            }
        }
        #expect(reads.withLock { $0 } == 2, "cancelled between reads, not before the first")
    }

    @Test("a removal is sent without waiting for its reply; the reply is read later, refusals and files already gone included")
    func removalWithoutWaiting() async throws {
        let fixture = try SFTPFixture()
        let one = try fixture.write("one.xml", "<one/>")
        let two = try fixture.write("two.xml", "<two/>")
        let locked = fixture.server.remoteRoot + "/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
        let kept = try fixture.write("kept.xml", "<kept/>", in: locked)
        chmod(locked, 0o755)  // owned by root: the SFTP user cannot remove files in it
        let connection = try SSHConnection(settings: try fixture.keySettings(after: .delete))
        defer { connection.close(graceful: true) }

        // The server answers nothing while paused: the request must go out without a wait.
        fixture.server.pauseSessions(true)
        let sent = Result { () throws(SSHFailure) in try connection.sendRemoval(one) }
        fixture.server.pauseSessions(false)
        #expect(try sent.get() == [], "nothing is known before the server replies")
        #expect(connection.removalInFlight == one)
        // Other requests are served while the reply waits in libssh2's queue.
        #expect(try connection.stat(two)?.size == 6)
        // The next removal reads the earlier reply first.
        var outcomes = try connection.sendRemoval(two)
        if let last = try connection.finishRemoval() { outcomes.append(last) }
        #expect(outcomes == [RemovalOutcome(path: one, failure: nil), RemovalOutcome(path: two, failure: nil)])
        #expect(try connection.finishRemoval() == nil, "every reply is read once")
        #expect(!fixture.exists(one) && !fixture.exists(two))

        // A refusal comes back with the reply; a file already gone counts as removed.
        outcomes = try connection.sendRemoval(kept)
        outcomes += try connection.sendRemoval(one)
        if let last = try connection.finishRemoval() { outcomes.append(last) }
        #expect(outcomes.map(\.path) == [kept, one])
        #expect(outcomes.first?.failure?.isPermissionDenied == true, "\(outcomes)")
        #expect(outcomes.last?.failure == nil)
        #expect(fixture.exists(kept))

        // A blocking removal while one is in flight finishes that one first.
        let three = try fixture.write("three.xml", "<three/>")
        let four = try fixture.write("four.xml", "<four/>")
        _ = try connection.sendRemoval(three)
        try connection.remove(four)
        #expect(connection.removalInFlight == nil)
        #expect(!fixture.exists(three) && !fixture.exists(four))
    }

    @Test("with after: delete, removals go on a second SFTP channel: a removal the server is stuck on holds up no read")
    func removalChannel() async throws {
        let fixture = try SFTPFixture()
        let one = try fixture.write("one.xml", "<one/>")
        let two = try fixture.write("two.xml", "<two/>")
        let moving = try SSHConnection(settings: try fixture.keySettings())
        #expect(moving.removalChannel == nil, "only after: delete sends removals")
        moving.close(graceful: true)

        var settings = try fixture.keySettings(after: .delete)
        settings.operationTimeout = 3
        let connection = try SSHConnection(settings: settings)
        defer { connection.close(graceful: true) }
        #expect(connection.removalChannel != nil)
        let removalServer = try #require(fixture.server.newestSessionProcess())

        // The removal channel's server process stops: its removal gets no reply meanwhile,
        // while the main channel still lists and reads.
        kill(removalServer, SIGSTOP)
        let sent = Result { () throws(SSHFailure) in try connection.sendRemoval(one) }
        let read = Result { () throws(SSHFailure) in
            guard let listed = try connection.stat(two) else { throw .local("\(two) is not listed") }
            return try connection.downloadIntoMemory(two, expected: listed, maxSize: 1 << 20, isCancelled: { false })
        }
        let removedWhileStopped = !fixture.exists(one)
        kill(removalServer, SIGCONT)

        #expect(try sent.get() == [])
        #expect(try read.get().bytes == Array("<two/>".utf8), "a read waited for the stopped removal")
        #expect(!removedWhileStopped, "the process stopped is the one serving the removal")
        #expect(try connection.finishRemoval() == RemovalOutcome(path: one, failure: nil))
        #expect(!fixture.exists(one))
    }

    @Test("a server that allows one session per connection gets the removals on the main channel")
    func removalsWithoutSecondChannel() async throws {
        let fixture = try SFTPFixture(maxSessions: 1)
        let one = try fixture.write("one.xml", "<one/>")
        let connection = try SSHConnection(settings: try fixture.keySettings(after: .delete))
        #expect(connection.removalChannel == nil)
        var outcomes = try connection.sendRemoval(one)
        if let last = try connection.finishRemoval() { outcomes.append(last) }
        #expect(outcomes == [RemovalOutcome(path: one, failure: nil)])
        #expect(!fixture.exists(one))
        connection.close(graceful: true)

        // The source on such a server: every file is picked up once and deleted.
        for index in 0..<5 { try fixture.write("doc\(index).xml", "<doc>\(index)</doc>", age: 5 + Double(index)) }
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(after: .delete), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually("every file deleted") { fixture.names(in: fixture.inbox).isEmpty }
        }
        #expect(intake.submittedNames.sorted() == (0..<5).map { "doc\($0).xml" })
        #expect(source.status.lastError == nil)
    }

    @Test("a delete the server refuses is retried on every poll, without ingesting the file again")
    func refusedDeleteIsRetried() async throws {
        let fixture = try SFTPFixture()
        try fixture.write("keep.xml", "<keep/>")
        try fixture.write("other.xml", "<other/>", age: 4)
        chmod(fixture.inbox, 0o755)  // owned by root: the SFTP user can read but not remove
        let intake = HashingIntake()
        let source = SFTPSource(settings: try fixture.keySettings(after: .delete), intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            try await eventually("acknowledgements pending") { source.status.acknowledgementsPending == 2 }
            try await Task.sleep(for: .milliseconds(600))
            #expect(intake.submissions.count == 2, "a file was ingested again while its removal kept failing")
            chmod(fixture.inbox, 0o777)
            try await eventually("deleted once the directory is writable") { fixture.names(in: fixture.inbox).isEmpty }
        }
        #expect(intake.submittedNames == ["keep.xml", "other.xml"])
        #expect(source.status.acknowledgementsPending == 0)
    }

    @Test("a file waiting to settle is listed again after settle, not a whole poll_interval later")
    func settlingFileListedEarly() async throws {
        let fixture = try SFTPFixture()
        try fixture.write("soon.xml", "<soon/>")
        let intake = HashingIntake()
        var settings = try fixture.keySettings(after: .delete, settle: 0.3)
        settings.pollInterval = 60
        let source = SFTPSource(settings: settings, intake: intake, logger: SFTPFixture.logger())
        try await fixture.running(source) {
            // Listed at start, settled 0.3 s later: the second listing must not wait 60 s.
            try await eventually(timeout: 20, "picked up well before the next poll_interval") { fixture.isGone(fixture.inbox + "/soon.xml") }
        }
        #expect(intake.submittedNames == ["soon.xml"])
    }
}
