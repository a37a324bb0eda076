/// How the process's heap (glibc's allocator) keeps and gives back memory.
///
/// Both programs allocate buffers of megabytes that live for one batch or one file: a request
/// body, a file read whole, a received batch. glibc maps a block above its mmap threshold on
/// its own and unmaps it when freed, but by default it raises the threshold to the largest
/// such block freed, so after the first batch these buffers come from the heap and stay
/// resident when freed. With a fixed threshold the later ones are mapped and given back at
/// once too, unless a free chunk of the heap can hold one, which glibc always uses first
/// (docs/BENCHMARKS.md, "Large buffers given back").
public enum ProcessHeap {
    /// Blocks of this size and more are mapped on their own and unmapped when freed.
    public static let largeBlockBytes = 128 << 10

    /// Fixes the mmap threshold at ``largeBlockBytes``. Call it once, first thing in `main`.
    ///
    /// - Returns: whether the allocator took the setting (false on a C library without it).
    @discardableResult
    public static func giveLargeBlocksBack() -> Bool {
        #if canImport(Glibc)
        return glibcMallopt(mallocMmapThreshold, Int32(largeBlockBytes)) == 1
        #else
        return false
        #endif
    }

    /// Returns the free pages at the top and in the middle of every arena to the system
    /// (`malloc_trim(0)`). It costs a walk over the free lists: call it when quiet.
    public static func trim() {
        #if canImport(Glibc)
        _ = glibcMallocTrim(0)
        #endif
    }
}

#if canImport(Glibc)
// `<malloc.h>` is not part of Swift's Glibc module: the two functions used, declared here.

/// `M_MMAP_THRESHOLD` in `<malloc.h>`.
private let mallocMmapThreshold: Int32 = -3

@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32

#endif
