import ProcessMemory
import Testing

@Suite("Resident size")
struct ResidentSizeTests {
    @Test("the resident size is read from the kernel, and grows with memory touched")
    func residentSizeReadsTheKernel() throws {
        let before = try #require(ResidentSize.current())
        #expect(before > 1 << 20)
        let bytes = 64 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        defer { block.deallocate() }
        block.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        let after = try #require(ResidentSize.current())
        #expect(after - before > bytes / 2, "\(before) -> \(after)")
    }
}
