@testable import FileDrop
import Foundation
import Glibc
import Synchronization
import Testing

/// The watcher's thread sleeps until a change or the deadline it was given: an idle drop
/// directory costs no wake-ups, and a new deadline or a stop cuts a long wait short.
@Suite("DirectoryWatcher")
struct DirectoryWatcherTests {
    /// Counts the signals of a started watcher on a fresh directory.
    final class Scene: Sendable {
        let watcher = DirectoryWatcher()
        let fixture: DropFixture
        let record = SignalRecord()
        let reader: Task<Void, Never>

        init() throws {
            fixture = try DropFixture()
            try watcher.watch(fixture.drop)
            let (watcher, record) = (watcher, record)
            reader = Task {
                for await _ in watcher.signals { record.times.withLock { $0.append(SystemTime.monotonic()) } }
                record.ended.store(true, ordering: .releasing)
            }
            watcher.start()
        }

        var count: Int { record.times.withLock { $0.count } }

        /// Waits until `condition` holds, up to `seconds`; returns whether it did.
        func wait(seconds: Double, for condition: () -> Bool) async -> Bool {
            let end = SystemTime.monotonic() + seconds
            while SystemTime.monotonic() < end {
                if condition() { return true }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return condition()
        }

        func close() async {
            watcher.stop()
            await reader.value
            fixture.removeAll()
        }
    }

    /// When each signal arrived, and whether the stream ended.
    final class SignalRecord: Sendable {
        let times = Mutex<[Double]>([])
        let ended = Atomic<Bool>(false)
    }

    @Test("with nothing changing and the deadline an hour away, it does not signal")
    func idleIsQuiet() async throws {
        let scene = try Scene()
        scene.watcher.wake(at: SystemTime.monotonic() + 3600)
        try await Task.sleep(for: .milliseconds(1500))
        // A watcher that ticks (every 20 – 250 ms) would have signalled 6 – 75 times.
        #expect(scene.count == 0)
        await scene.close()
    }

    @Test("a deadline asked during a long wait is kept, once")
    func newDeadlineCutsTheWaitShort() async throws {
        let scene = try Scene()
        scene.watcher.wake(at: SystemTime.monotonic() + 3600)
        try await Task.sleep(for: .milliseconds(200))  // the thread is in its long wait now
        let asked = SystemTime.monotonic() + 0.3
        scene.watcher.wake(at: asked)
        #expect(await scene.wait(seconds: 10) { scene.count >= 1 })
        let first = try #require(scene.record.times.withLock { $0.first })
        #expect(first >= asked)
        try await Task.sleep(for: .milliseconds(500))
        #expect(scene.count == 1, "a deadline is signalled once, not again until a new one is asked")
        await scene.close()
    }

    @Test("a change in the directory signals with no deadline set, and shows in drain()")
    func changeSignals() async throws {
        let scene = try Scene()
        try Data("x".utf8).write(to: URL(fileURLWithPath: scene.fixture.drop + "/a.xml"))
        #expect(await scene.wait(seconds: 10) { scene.count >= 1 })
        // The first signal may come with the creation alone; the close follows in a later drain.
        var last: DirectoryWatcher.Change?
        let closed = await scene.wait(seconds: 10) {
            if let change = scene.watcher.drain().changes["a.xml"] { last = change }
            return last == .closed
        }
        #expect(closed, "last change seen: \(String(describing: last))")
        await scene.close()
    }

    @Test("stop ends the signals at once, not after the wait")
    func stopIsPrompt() async throws {
        let scene = try Scene()
        try await Task.sleep(for: .milliseconds(200))  // the thread is in its wait (60 s without a deadline)
        let stoppedAt = SystemTime.monotonic()
        scene.watcher.stop()
        #expect(await scene.wait(seconds: 10) { scene.record.ended.load(ordering: .acquiring) })
        #expect(SystemTime.monotonic() - stoppedAt < 10)
        await scene.close()
    }
}
