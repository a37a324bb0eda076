#if canImport(Glibc)
import Glibc
#endif

/// The process's resident memory as the kernel counts it (`/proc/self/statm`), read without
/// Foundation: a few system calls and no allocation of its own.
public enum ResidentSize {
    /// Resident bytes now; nil where `/proc/self/statm` cannot be read.
    public static func current() -> Int? {
        #if canImport(Glibc)
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // "size resident shared text lib data dt", in pages: the second field.
        var text: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &text) { buffer -> Int? in
            let n = read(fd, buffer.baseAddress, buffer.count)
            guard n > 0 else { return nil }
            var field = 0
            var value = 0
            var digits = false
            for byte in buffer[0..<n] {
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                    digits = true
                } else if digits {
                    if field == 1 { return value * Int(sysconf(Int32(_SC_PAGESIZE))) }
                    field += 1
                    value = 0
                    digits = false
                }
            }
            return nil
        }
        #else
        return nil
        #endif
    }
}
