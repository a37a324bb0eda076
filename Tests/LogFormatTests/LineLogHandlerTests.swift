import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import Testing

@testable import LogFormat

@Suite("Log lines")
struct LineLogHandlerTests {
    let time = Date(timeIntervalSince1970: 1_795_000_000.25)

    @Test("a line goes out whole; a reader that went away drops the line and stops nothing")
    func writesWholeLinesAndSurvivesAClosedPipe() throws {
        LineLogHandler.ignoreBrokenPipes()
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let line = "ts=x level=info msg=" + String(repeating: "é", count: 50_000) + "\n"
        let reader = Thread { [read = ends[0]] in
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = Glibc.read(read, &chunk, chunk.count)
                if count <= 0 { break }
                received += chunk[0..<count]
            }
            Glibc.close(read)
            LineLogHandlerTests.received.withLock { $0 = received }
        }
        reader.start()
        // 100 KB, more than a pipe holds (64 KiB): written in parts while the reader drains it.
        #expect(StandardStream.write(line, to: ends[1]))
        Glibc.close(ends[1])
        var whole: [UInt8]?
        for _ in 0..<500 where whole == nil {
            whole = LineLogHandlerTests.received.withLock { $0 }
            usleep(10_000)
        }
        #expect(whole == Array(line.utf8))

        // Now the reader is gone: the write fails (EPIPE, no SIGPIPE) and returns.
        #expect(pipe(&ends) == 0)
        Glibc.close(ends[0])
        #expect(!StandardStream.write(line, to: ends[1]))
        #expect(!StandardStream.write("one more\n", to: ends[1]))
        Glibc.close(ends[1])
    }

    private static let received = Mutex<[UInt8]?>(nil)

    @Test("logfmt: time, level, message, then metadata sorted by key; values with blanks or quotes are quoted")
    func logfmtLine() {
        var handler = LineLogHandler(label: "t", level: .info, format: .logfmt, journald: false)
        handler.metadata = ["source": "erp"]
        let line = handler.render(
            level: .warning, message: "file.quarantined",
            metadata: ["file": "a b.xml", "detail": "say \"no\"\nplease", "reason": "symlink"], at: time)
        #expect(line == #"ts=2026-11-18T11:06:40.250Z level=warning msg=file.quarantined detail="say \"no\"\nplease" file="a b.xml" reason=symlink source=erp"# + "\n")
    }

    @Test("under journald: a syslog priority prefix and no timestamp of its own")
    func journaldLine() {
        let handler = LineLogHandler(label: "t", level: .info, format: .logfmt, journald: true)
        #expect(handler.render(level: .error, message: "hub.unreachable", metadata: nil, at: time) == "<3>level=error msg=hub.unreachable\n")
        #expect(handler.render(level: .info, message: "m", metadata: nil, at: time).hasPrefix("<6>"))
        #expect(handler.render(level: .debug, message: "m", metadata: nil, at: time).hasPrefix("<7>"))
    }

    @Test("json: one object per line with the same keys")
    func jsonLine() throws {
        let handler = LineLogHandler(label: "t", level: .info, format: .json, journald: false)
        let line = handler.render(level: .info, message: "intake.committed", metadata: ["events": "3"], at: time)
        #expect(line.hasSuffix("\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object == ["ts": "2026-11-18T11:06:40.250Z", "level": "info", "msg": "intake.committed", "events": "3"])
    }
}
