import Foundation
@testable import SFTPSource
import Testing

/// The thread that runs a source's blocking libssh2 calls (no server needed).
struct SessionThreadTests {
    @Test("the session thread carries the source's name, cut to the 15 bytes Linux keeps")
    func threadName() async throws {
        for (given, expected) in [("sftp-erp", "sftp-erp"), ("sftp-a-rather-long-source", "sftp-a-rather-l"), ("sftp-größe-über-alles", "sftp-größe-ü")] {
            let thread = SessionThread(name: given)
            let name = try await thread.run { try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
            thread.finish()
            #expect(name == expected + "\n", "\(given)")
        }
    }

    @Test("jobs run one at a time in order, and none after finish")
    func jobsInOrder() async throws {
        let thread = SessionThread(name: "sftp-order")
        var results: [Int] = []
        for index in 0..<5 { results.append(try await thread.run { index }) }
        #expect(results == [0, 1, 2, 3, 4])
        thread.finish()
        await #expect(throws: CancellationError.self) { try await thread.run { 1 } }
    }
}
