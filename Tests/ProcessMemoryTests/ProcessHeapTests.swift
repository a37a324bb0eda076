#if canImport(Glibc)
import Glibc
import ProcessMemory
import Testing

@Suite("Process heap")
struct ProcessHeapTests {
    /// Whether the page at `address` is mapped in this process (`mincore` fails with ENOMEM
    /// for an address outside every mapping).
    private func isMapped(_ address: UnsafeMutableRawPointer) -> Bool {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UnsafeMutableRawPointer(bitPattern: Int(bitPattern: address) & ~(page - 1))
        var resident: UInt8 = 0
        return mincore(start, page, &resident) == 0
    }

    @Test("a large block freed is unmapped at once, even after a larger one was freed")
    func largeBlocksGivenBack() throws {
        #expect(ProcessHeap.giveLargeBlocksBack())
        // With glibc's default, freeing this raises the threshold above 4 MiB, and the
        // 1 MiB block below would come from the heap and stay mapped after it is freed.
        let larger = try #require(malloc(4 << 20))
        memset(larger, 1, 4 << 20)
        free(larger)
        let block = try #require(malloc(1 << 20))
        memset(block, 1, 1 << 20)
        let inside = block + (512 << 10)
        #expect(isMapped(inside))
        free(block)
        #expect(!isMapped(inside), "a freed 1 MiB block stayed mapped: the threshold is not fixed")
    }

    /// The control for the test above: its check tells a block given back from one kept.
    @Test("a block below the threshold stays in the heap, mapped, when freed")
    func smallBlocksStay() throws {
        #expect(ProcessHeap.giveLargeBlocksBack())
        // Two blocks, so that freeing the first leaves it in the middle of the heap.
        let small = try #require(malloc(ProcessHeap.largeBlockBytes / 4))
        let after = try #require(malloc(ProcessHeap.largeBlockBytes / 4))
        memset(small, 1, ProcessHeap.largeBlockBytes / 4)
        free(small)
        #expect(isMapped(small))
        free(after)
        ProcessHeap.trim()
    }
}
#endif
