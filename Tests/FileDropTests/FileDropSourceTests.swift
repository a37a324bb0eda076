import EventModel
import FileDrop
import Foundation
import Glibc
import Testing

@Suite("FileDropSource")
struct FileDropSourceTests {
    @Test("a file present at start is submitted and archived into the dated folder")
    func presentAtStart() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let path = try fixture.write("order-1.xml", "<ORDERS05/>")
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { source in
            #expect(await eventually { !fixture.exists(path) })
            #expect(source.status.filesPickedUp == 1)
            #expect(source.status.lastPickupAt != nil)
        }
        #expect(intake.submissions == [.init(fileName: "order-1.xml", content: Array("<ORDERS05/>".utf8), size: 11, format: .raw)])
        #expect(fixture.contents(fixture.archiveToday + "/order-1.xml") == "<ORDERS05/>")
    }

    @Test("a name taken in the archive gets a numeric suffix; nothing is overwritten")
    func archiveCollision() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        try FileManager.default.createDirectory(atPath: fixture.archiveToday, withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: fixture.archiveToday + "/a.xml"))
        try Data("older".utf8).write(to: URL(fileURLWithPath: fixture.archiveToday + "/a.xml.1"))
        let path = try fixture.write("a.xml", "new")
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { _ in
            #expect(await eventually { !fixture.exists(path) })
        }
        #expect(fixture.contents(fixture.archiveToday + "/a.xml") == "old")
        #expect(fixture.contents(fixture.archiveToday + "/a.xml.1") == "older")
        #expect(fixture.contents(fixture.archiveToday + "/a.xml.2") == "new")
    }

    @Test("after: delete removes the file once committed")
    func deleteMode() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(after: .delete), intake: intake) { _ in
            let path = try fixture.write("b.xml", "payload")
            #expect(await eventually { !fixture.exists(path) })
        }
        #expect(intake.submittedNames == ["b.xml"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.archive).isEmpty)
    }

    @Test("only names matching include and no exclude are picked up, oldest first")
    func includeExclude() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        // The newest eligible file is handled last, so once it is in, the others had their turn.
        try fixture.write("skip-1.xml", "x", age: 50)
        try fixture.write("notes.txt", "x", age: 40)
        try fixture.write(".hidden.xml", "x", age: 30)
        try fixture.write("second.xml", "x", age: 20)
        try fixture.write("partial.xml.part", "x", age: 15)
        try fixture.write("first.xml", "x", age: 25)
        try fixture.write("last.xml", "x", age: 10)
        let intake = RecordingIntake()
        let settings = fixture.settings(include: ["*.xml"], exclude: ["skip-*", ".*", "*.part"])
        try await fixture.run(settings, intake: intake) { _ in
            #expect(await eventually { intake.submittedNames.count == 3 })
            try await quietPeriod()
        }
        #expect(intake.submittedNames == ["first.xml", "second.xml", "last.xml"])
        for name in ["skip-1.xml", "notes.txt", ".hidden.xml", "partial.xml.part"] {
            #expect(fixture.exists(fixture.drop + "/" + name), "\(name) must stay")
        }
    }

    @Test("with a done marker a file waits for X.done, and the marker is removed afterwards")
    func doneMarker() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(doneMarker: ".done"), intake: intake) { _ in
            let path = try fixture.write("c.xml", "content")
            try await quietPeriod()
            #expect(intake.submissions.isEmpty, "no marker yet")
            let marker = try fixture.write("c.xml.done", "")
            #expect(await eventually { !fixture.exists(path) && !fixture.exists(marker) })
        }
        #expect(intake.submittedNames == ["c.xml"])
        #expect(fixture.contents(fixture.archiveToday + "/c.xml") == "content")
    }

    @Test("a writer that keeps the file open past settle is waited for")
    func pausedWriter() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { _ in
            let path = fixture.drop + "/slow.xml"
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try writer.write(contentsOf: Data("<first-half>".utf8))
            try await quietPeriod()
            #expect(intake.attempts == 0, "picked up while open for writing")
            try writer.write(contentsOf: Data("<second-half>".utf8))
            try writer.close()
            #expect(await eventually { !fixture.exists(path) })
            try await quietPeriod()
        }
        #expect(intake.submissions.map(\.content) == [Array("<first-half><second-half>".utf8)])
    }

    @Test("a file already open for writing at start (no inotify history) is waited for")
    func writerOpenBeforeStart() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let path = try fixture.write("early.xml", "")
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try writer.write(contentsOf: Data("all of it".utf8))
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { _ in
            try await quietPeriod()
            #expect(intake.attempts == 0, "picked up while open for writing")
            try writer.close()
            #expect(await eventually { !fixture.exists(path) })
        }
        #expect(intake.submissions.map(\.content) == [Array("all of it".utf8)])
    }

    @Test("a symlink is quarantined, never followed")
    func symlinkQuarantined() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let target = fixture.root + "/secret.xml"
        try Data("secret".utf8).write(to: URL(fileURLWithPath: target))
        let link = fixture.drop + "/link.xml"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { source in
            #expect(await eventually { fixture.exists(fixture.errors + "/link.xml.reason.json") })
            #expect(source.status.filesRejected == 1)
        }
        #expect(!fixture.exists(link))
        let quarantined = fixture.errors + "/link.xml"
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: quarantined) == target)
        #expect(fixture.contents(target) == "secret")
        #expect(intake.attempts == 0)
        #expect(intake.rejections.map(\.rejection.code) == [.symlink])
        #expect(intake.rejections.first?.quarantinedAs == quarantined)
        #expect(try fixture.reason(of: quarantined)["reason"] as? String == "symlink")
    }

    @Test("a hard link to a file outside the drop directory is quarantined unread; the outside file stays")
    func hardLinkQuarantined() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let outside = fixture.root + "/outside.xml"
        try Data("<ORDERS05/>".utf8).write(to: URL(fileURLWithPath: outside))
        let link = fixture.drop + "/linked.xml"
        try #require(Glibc.link(outside, link) == 0, "link() failed: errno \(errno)")
        _ = try fixture.write("plain.xml", "plain")
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { _ in
            #expect(await eventually { fixture.exists(fixture.errors + "/linked.xml.reason.json") })
            #expect(await eventually { !fixture.exists(fixture.drop + "/plain.xml") })
        }
        #expect(intake.submissions.map(\.content) == [Array("plain".utf8)], "only the unlinked file is read")
        #expect(intake.rejections.map(\.rejection.code) == [.hardLink])
        #expect(try fixture.reason(of: fixture.errors + "/linked.xml")["reason"] as? String == "hard_link")
        #expect(fixture.contents(outside) == "<ORDERS05/>")
    }

    @Test("a file whose name is not UTF-8 is quarantined unread under an escaped name, with a reason")
    func undecodableNameQuarantined() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let raw: [UInt8] = Array("latin1-".utf8) + [0xE9, 0xFF] + Array("%.xml".utf8)
        let path = (Array(fixture.drop.utf8) + [UInt8(ascii: "/")] + raw + [0]).map { CChar(bitPattern: $0) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        try #require(fd >= 0, "cannot create the file: errno \(errno)")
        _ = write(fd, "<ORDERS05/>", 11)
        close(fd)
        _ = try fixture.write("plain.xml", "plain")
        let intake = RecordingIntake()
        let quarantined = fixture.errors + "/latin1-%E9%FF%25.xml"
        try await fixture.run(fixture.settings(), intake: intake) { source in
            #expect(await eventually { fixture.exists(quarantined + ".reason.json") })
            #expect(await eventually { source.status.filesRejected == 1 })
            #expect(await eventually { !fixture.exists(fixture.drop + "/plain.xml") })
        }
        #expect(access(path, F_OK) != 0, "the file left the drop directory")
        #expect(fixture.contents(quarantined) == "<ORDERS05/>")
        #expect(intake.submissions.map(\.content) == [Array("plain".utf8)], "only the UTF-8 name is read")
        #expect(intake.rejections.map(\.rejection.code) == [.fileNameNotUTF8])
        #expect(intake.rejections.first?.quarantinedAs == quarantined)
        let reason = try fixture.reason(of: quarantined)
        #expect(reason["reason"] as? String == "file_name_not_utf8")
        #expect(reason["file"] as? String == "latin1-%E9%FF%25.xml")
    }

    @Test("an oversized file is quarantined without being submitted")
    func oversized() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let path = try fixture.write("big.xml", String(repeating: "x", count: 100))
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(maxFileSize: 10), intake: intake) { _ in
            #expect(await eventually { fixture.exists(fixture.errors + "/big.xml.reason.json") })
        }
        #expect(!fixture.exists(path))
        #expect(intake.attempts == 0)
        let rejection = try #require(intake.rejections.first)
        #expect(rejection.rejection.code == .fileTooLarge)
        #expect(rejection.size == 100)
        #expect(rejection.fingerprint.hasPrefix("big.xml|100|"))
        let reason = try fixture.reason(of: fixture.errors + "/big.xml")
        #expect(reason["reason"] as? String == "file_too_large")
        #expect(reason["size"] as? Int == 100)
        #expect(reason["sha256"] is NSNull)
    }

    @Test("a FIFO is quarantined and does not block the source")
    func fifo() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let pipe = fixture.drop + "/pipe.xml"
        #expect(mkfifo(pipe, 0o644) == 0)
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { _ in
            let regular = try fixture.write("after-pipe.xml", "fine")
            #expect(await eventually { !fixture.exists(regular) && !fixture.exists(pipe) })
        }
        var st = stat()
        #expect(lstat(fixture.errors + "/pipe.xml", &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFIFO)
        #expect(try fixture.reason(of: fixture.errors + "/pipe.xml")["reason"] as? String == "not_regular_file")
        #expect(intake.rejections.map(\.rejection.code) == [.notRegularFile])
        #expect(intake.submittedNames == ["after-pipe.xml"])
    }

    @Test("a subdirectory is ignored and left in place")
    func subdirectory() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let directory = fixture.drop + "/nested.xml"
        try FileManager.default.createDirectory(atPath: directory + "/inner", withIntermediateDirectories: true)
        try fixture.write("nested.xml/inner/deep.xml", "deep")
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { _ in
            try fixture.write("top.xml", "top")
            #expect(await eventually { intake.submittedNames == ["top.xml"] })
            try await quietPeriod()
        }
        #expect(intake.submittedNames == ["top.xml"])
        #expect(intake.rejections.isEmpty)
        #expect(fixture.contents(directory + "/inner/deep.xml") == "deep")
    }

    @Test("when submit throws the file stays and is retried until it succeeds")
    func submitFailureRetried() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let intake = RecordingIntake()
        intake.failNext(3)
        let path = try fixture.write("retry.xml", "again")
        try await fixture.run(fixture.settings(), intake: intake) { _ in
            #expect(await eventually { intake.attempts >= 1 })
            #expect(fixture.exists(path), "a failed submission must leave the file in place")
            #expect(await eventually { !fixture.exists(path) })
        }
        #expect(intake.attempts == 4)
        #expect(intake.submittedNames == ["retry.xml"])
        #expect(fixture.contents(fixture.archiveToday + "/retry.xml") == "again")
    }

    @Test("a rejected file goes to the error directory with a reason file, never overwriting")
    func rejected() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        try Data("earlier".utf8).write(to: URL(fileURLWithPath: fixture.errors + "/bad.xml"))
        let intake = RecordingIntake()
        intake.refuse(with: DocumentRejection(.malformedXML, "line 3: unexpected end"))
        let path = try fixture.write("bad.xml", "<broken")
        let before = Date().timeIntervalSince1970
        try await fixture.run(fixture.settings(), intake: intake) { source in
            #expect(await eventually { !fixture.exists(path) })
            #expect(source.status.filesRejected == 1)
            #expect(source.status.filesPickedUp == 0)
        }
        #expect(fixture.contents(fixture.errors + "/bad.xml") == "earlier")
        let quarantined = fixture.errors + "/bad.xml.1"
        #expect(fixture.contents(quarantined) == "<broken")
        let reason = try fixture.reason(of: quarantined)
        #expect(reason["source"] as? String == "test-drop")
        #expect(reason["file"] as? String == "bad.xml")
        #expect(reason["reason"] as? String == "malformed_xml")
        #expect(reason["detail"] as? String == "line 3: unexpected end")
        #expect(reason["sha256"] as? String == String(repeating: "ab", count: 32))
        #expect(reason["size"] as? Int == 7)
        let stamp = try #require(reason["rejected_at"] as? String)
        let rejectedAt = try #require(RFC3339.parse(stamp))
        #expect(rejectedAt >= before.rounded(.down) && rejectedAt <= Date().timeIntervalSince1970)
        #expect(intake.rejections.isEmpty, "the intake commits the rejection of a submitted file itself")
    }

    @Test("while intake is not accepting nothing is picked up and files stay")
    func backpressure() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let intake = RecordingIntake()
        intake.setAccepting(false)
        let paths = try ["p1.xml", "p2.xml"].map { try fixture.write($0, $0) }
        try await fixture.run(fixture.settings(), intake: intake) { source in
            try await quietPeriod()
            #expect(intake.attempts == 0)
            #expect(paths.allSatisfy(fixture.exists))
            #expect(source.status.filesWaiting == 2)
            intake.setAccepting(true)
            #expect(await eventually { !paths.contains(where: fixture.exists) })
        }
        #expect(intake.submittedNames.sorted() == ["p1.xml", "p2.xml"])
    }

    @Test(
        "an unreadable file is retried at the next rescan, then quarantined unread (EndToEndTests covers it as root)",
        .enabled(if: getuid() != 0, "root reads files regardless of their permissions"))
    func unreadable() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let path = try fixture.write("locked.xml", "locked")
        #expect(chmod(path, 0) == 0)
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(rescanInterval: 0.5), intake: intake) { _ in
            #expect(await eventually { fixture.exists(fixture.errors + "/locked.xml.reason.json") })
        }
        #expect(intake.attempts == 0)
        #expect(intake.rejections.map(\.rejection.code) == [.unreadable])
        #expect(try fixture.reason(of: fixture.errors + "/locked.xml")["reason"] as? String == "unreadable")
    }

    @Test("run() refuses to run twice at once")
    func runTwice() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        try await fixture.run(fixture.settings(), intake: RecordingIntake()) { source in
            #expect(await eventually { source.status.watching })
            await #expect(throws: FileDropError.alreadyRunning(source: "test-drop")) { try await source.run() }
        }
    }

    @Test("a file published by link() and unlink() of its temporary name (no close event) is picked up once the lease shows no writer")
    func publishedByLink() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let temporary = fixture.root + "/publishing.tmp"
        try Data("linked".utf8).write(to: URL(fileURLWithPath: temporary))
        let intake = RecordingIntake()
        try await fixture.run(fixture.settings(), intake: intake) { source in
            #expect(await eventually { source.status.watching }, "the link must be seen by inotify (IN_CREATE)")
            #expect(link(temporary, fixture.drop + "/linked.xml") == 0)
            #expect(unlink(temporary) == 0)
            #expect(await eventually { intake.submittedNames == ["linked.xml"] })
        }
        #expect(intake.submissions.map(\.content) == [Array("linked".utf8)])
        #expect(intake.rejections.isEmpty)
    }

    @Test("when the archive move fails the file is not submitted again and the move is retried")
    func archiveMoveRetried() async throws {
        let fixture = try DropFixture()
        defer { fixture.removeAll() }
        let blockedArchive = fixture.root + "/not-a-directory"
        try Data().write(to: URL(fileURLWithPath: blockedArchive))
        let path = try fixture.write("stuck.xml", "stuck")
        let intake = RecordingIntake()
        let settings = fixture.settings(after: .archive(directory: blockedArchive), rescanInterval: 0.3)
        try await fixture.run(settings, intake: intake) { source in
            #expect(await eventually { source.status.filesPickedUp == 1 })
            try await quietPeriod()
            #expect(fixture.exists(path))
            #expect(intake.attempts == 1, "a committed file must not be submitted again")
            try FileManager.default.removeItem(atPath: blockedArchive)
            try FileManager.default.createDirectory(atPath: blockedArchive, withIntermediateDirectories: false)
            #expect(await eventually { !fixture.exists(path) })
        }
        #expect(intake.attempts == 1)
        let day = String(RFC3339.format(Date().timeIntervalSince1970).prefix(10))
        #expect(fixture.contents(blockedArchive + "/" + day + "/stuck.xml") == "stuck")
    }
}
