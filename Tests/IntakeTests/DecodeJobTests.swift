@testable import Intake
import EventModel
import Foundation
import Testing

/// Hashing and decoding run on threads of their own (``DedicatedQueue``), never on the threads
/// Swift concurrency's tasks run on: a source's task must go on while inputs decode.
struct DecodeJobTests {
    /// Emits `count` records of `size` bytes each, whatever the input.
    struct RepeatingCodec: DocumentCodec {
        let format = DocumentFormat.raw
        let count: Int
        let size: Int

        func decode(_ input: DocumentInput, limits: CodecLimits, emit: (DocumentRecord) throws -> Void) throws {
            let payload = [UInt8](repeating: 0x41, count: size)
            try payload.withUnsafeBytes { buffer in
                for ordinal in 0..<count {
                    try emit(DocumentRecord(
                        ordinal: ordinal, control: nil, contentType: "application/octet-stream", data: buffer, isText: false))
                }
            }
        }
    }

    static func origin(_ index: Int) -> DocumentOrigin {
        DocumentOrigin(
            agentID: "agent", region: "test", sourceName: "decode-test", fileName: "input-\(index)",
            fileSHA256: String(repeating: "0", count: 64), pickupTime: 0)
    }

    @Test("more decode jobs than cores, each held on a full hand-off, all decode at once and tasks still run")
    func jobsRunOnThreadsOfTheirOwn() async throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // 200 records of 64 KiB: far more than a hand-off holds, so every job stops on it.
        let codec = RepeatingCodec(count: 200, size: 64 << 10)
        let jobs = (0..<(4 * cores + 4)).map { DecodeJob(.bytes([]), codec: codec, limits: .default, origin: Self.origin($0)) }
        // Filling a hand-off takes milliseconds. On the threads tasks run on (a concurrent
        // queue's, one per core), the jobs beyond the cores would wait for dispatch to notice
        // the blocked threads and add one, about one a second (11 s here for 12 jobs), and so
        // would this test's own task: hence the clock, read when the task runs again.
        let start = ContinuousClock.now
        let allHeld = await eventually(timeout: 10) {
            jobs.allSatisfy { $0.handoff.waitingBytes > DecodeJob.waitingBytes / 2 }
        }
        let elapsed = ContinuousClock.now - start
        // With every job's thread blocked, tasks and the hash still get threads.
        let task = await Task.detached { 7 }.value
        let hash = try await InputHasher.sha256(of: .bytes(Array("abc".utf8)))
        for job in jobs { job.cancel() }
        for job in jobs { await job.finished() }

        #expect(allHeld, "held: \(jobs.map { $0.handoff.waitingBytes })")
        #expect(elapsed < .seconds(3), "the jobs waited \(elapsed) for threads")
        #expect(task == 7)
        #expect(hash == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Cancelled, each job ends with the events it had handed over, and no more.
        for job in jobs {
            var events = 0
            while let chunk = try? job.handoff.take() { events += chunk.count }
            #expect(events > 0 && events < 200)
        }
    }

    /// Emits `count` records, then fails.
    struct FailingCodec: DocumentCodec {
        struct Broken: Error {}
        let format = DocumentFormat.raw
        let count: Int

        func decode(_ input: DocumentInput, limits: CodecLimits, emit: (DocumentRecord) throws -> Void) throws {
            let payload = [UInt8](repeating: 0x42, count: 10)
            try payload.withUnsafeBytes { buffer in
                for ordinal in 0..<count {
                    try emit(DocumentRecord(
                        ordinal: ordinal, control: nil, contentType: "application/octet-stream", data: buffer, isText: false))
                }
            }
            throw Broken()
        }
    }

    @Test("a small input in memory whose events fit is decoded in place: all of it handed over before the job exists")
    func smallInputDecodedInPlace() async throws {
        let job = DecodeJob(.bytes(Array("message".utf8)), codec: RepeatingCodec(count: 40, size: 100), limits: .default,
                            origin: Self.origin(0))
        // No thread of its own: every chunk waits already, and the hand-off is finished.
        #expect(job.complete, "decoded whole, without error")
        #expect(job.handoff.waitingBytes > 40 * 100)
        var ordinals: [Int] = []
        while let chunk = try job.handoff.take() { ordinals += chunk.map(\.ordinal) }
        #expect(ordinals == Array(0..<40))
        await job.finished()

        // As on a thread: the full chunks decoded before the error come first, then the error.
        let failing = DecodeJob(.bytes([1]), codec: FailingCodec(count: 40), limits: .default, origin: Self.origin(1))
        #expect(!failing.complete, "its error is still to be taken")
        #expect(try failing.handoff.take()?.count == DecodeJob.chunkEvents)
        #expect(throws: FailingCodec.Broken.self) { try failing.handoff.take() }
        await failing.finished()
    }

    @Test("a small input whose events outgrow the hand-off is decoded on a thread of its own, every event handed over once")
    func smallInputThatExpandsGoesToAThread() async throws {
        // 40 records of 64 KiB (2.5 MiB) from a one-byte input: more than the hand-off holds.
        let job = DecodeJob(.bytes([1]), codec: RepeatingCodec(count: 40, size: 64 << 10), limits: .default,
                            origin: Self.origin(2))
        #expect(!job.complete, "decoding on its thread")
        var ordinals: [Int] = []
        while let chunk = try job.handoff.take() {
            #expect(job.handoff.waitingBytes <= DecodeJob.waitingBytes)
            ordinals += chunk.map(\.ordinal)
        }
        #expect(ordinals == Array(0..<40))
        await job.finished()
    }
}

