#if canImport(Glibc)
import Glibc
import ProcessMemory
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
#endif
