#if canImport(Glibc)
import Glibc
@testable import ProcessMemory
import Testing

@Suite("Process heap")
struct ProcessHeapTests {
    /// Whether glibc mapped this block on its own: bit 1 (`IS_MMAPPED`) of the chunk's size
    /// field, the word just before the pointer malloc returned. Read while the block is
    /// allocated, so no other thread can have reused its addresses.
    private func isMappedOnItsOwn(_ block: UnsafeMutableRawPointer) -> Bool {
        (block - MemoryLayout<Int>.size).load(as: Int.self) & 2 != 0
    }

    @Test("large blocks are mapped on their own, even after a larger one was freed")
    func largeBlocksGivenBack() throws {
        #expect(ProcessHeap.giveLargeBlocksBack())
        // With glibc's default, freeing this raises the threshold above 4 MiB, and 1 MiB
        // blocks would then come from the heap and stay there once freed.
        let larger = try #require(malloc(4 << 20))
        memset(larger, 1, 4 << 20)
        free(larger)
        // Free chunks the process already has may serve the first blocks, whatever the
        // threshold: take blocks until they come from the system (at most 256 MiB, untouched).
        var blocks: [UnsafeMutableRawPointer] = []
        defer { blocks.forEach { free($0) } }
        var mapped = 0
        while blocks.count < 256, mapped < 4 {
            let block = try #require(malloc(1 << 20))
            blocks.append(block)
            if isMappedOnItsOwn(block) { mapped += 1 }
        }
        #expect(mapped == 4, "1 MiB blocks came from the heap (\(blocks.count) taken): the threshold is not fixed")
    }

    @Test("threads that allocate at once share the arenas of the limit, two per core")
    func arenasLimited() async {
        #expect(ProcessHeap.arenaLimit(processors: 1) == 4)
        #expect(ProcessHeap.arenaLimit(processors: 8) == 16)
        // In a process of its own, whose arenas no other test has made.
        await #expect(processExitsWith: .success) {
            guard let before = ProcessHeap.arenaCount(), ProcessHeap.limitArenas() else { exit(2) }
            let limit = ProcessHeap.arenaLimit(processors: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
            ArenaLoad.run(threads: 32)
            guard let after = ProcessHeap.arenaCount() else { exit(3) }
            exit(after <= max(before, limit) ? 0 : 1)
        }
    }

    @Test("the control: without the limit, the same threads make arenas of their own")
    func arenasGrowWithoutTheLimit() async {
        await #expect(processExitsWith: .success) {
            guard let before = ProcessHeap.arenaCount() else { exit(2) }
            ArenaLoad.run(threads: 32)
            guard let after = ProcessHeap.arenaCount() else { exit(3) }
            exit(after > before + 2 ? 0 : 1)
        }
    }

    /// The control for the test above: its check tells a block given back from one kept.
    @Test("a block below the threshold comes from the heap")
    func smallBlocksStay() throws {
        #expect(ProcessHeap.giveLargeBlocksBack())
        let small = try #require(malloc(ProcessHeap.largeBlockBytes / 4))
        memset(small, 1, ProcessHeap.largeBlockBytes / 4)
        #expect(!isMappedOnItsOwn(small))
        free(small)
        ProcessHeap.trim()
    }
}

/// Threads that each allocate and free small blocks, all at the same time.
private enum ArenaLoad {
    static func run(threads count: Int) {
        var threads: [pthread_t] = []
        for _ in 0..<count {
            var thread = pthread_t()
            pthread_create(&thread, nil, { _ in
                for _ in 0..<2_000 {
                    guard let block = malloc(256) else { return nil }
                    memset(block, 1, 256)
                    free(block)
                    sched_yield()
                }
                return nil
            }, nil)
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }
}
#endif
