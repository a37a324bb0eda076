#if canImport(Glibc)
import Glibc
#endif

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

    /// What both programs set at start: megabyte buffers given back when freed
    /// (``giveLargeBlocksBack()``) and fewer arenas, so that what one thread frees serves more
    /// of the others (``limitArenas()``).
    public static func prepareForBatches() {
        giveLargeBlocksBack()
        limitArenas()
    }

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

    /// Allocator arenas a process of `processors` cores keeps: two per core, at least four.
    /// One per core saved a little more memory and cost the agent 6 – 8% of its rate in
    /// threads waiting for each other's allocations.
    public static func arenaLimit(processors: Int) -> Int { max(4, 2 * processors) }

    /// Caps the allocator's arenas at ``arenaLimit(processors:)`` for the cores this process
    /// may use. Call it once at start, before the program's own threads start (arenas made
    /// before stay).
    ///
    /// glibc gives each new thread an arena of its own up to eight per core, and memory freed
    /// into one arena serves only the threads of that arena: in the middle of a burst the
    /// agent's 14 arenas held 21 MB, of which 4.5 MB was in use (docs/BENCHMARKS.md, "Fewer
    /// allocator arenas").
    ///
    /// - Returns: whether the allocator took the setting.
    @discardableResult
    public static func limitArenas() -> Bool {
        #if canImport(Glibc)
        let processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return glibcMallopt(mallocArenaMax, Int32(arenaLimit(processors: processors))) == 1
        #else
        return false
        #endif
    }

    /// The allocator's arenas so far (from `malloc_info`); nil when it cannot tell.
    static func arenaCount() -> Int? {
        #if canImport(Glibc)
        var buffer: UnsafeMutablePointer<CChar>?
        var size = 0
        guard let stream = open_memstream(&buffer, &size) else { return nil }
        let status = glibcMallocInfo(0, stream)
        fclose(stream)
        defer { free(buffer) }
        guard status == 0, let buffer else { return nil }
        // One `<heap nr="N">` element per arena.
        return String(cString: buffer).ranges(of: "<heap nr=").count
        #else
        return nil
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
// `<malloc.h>` is not part of Swift's Glibc module: the functions used, declared here.

/// `M_MMAP_THRESHOLD` in `<malloc.h>`.
private let mallocMmapThreshold: Int32 = -3
/// `M_ARENA_MAX` in `<malloc.h>`.
private let mallocArenaMax: Int32 = -8

@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32

@_silgen_name("malloc_info")
private func glibcMallocInfo(_ options: Int32, _ stream: UnsafeMutablePointer<FILE>) -> Int32

#endif
