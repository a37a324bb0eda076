#if canImport(Glibc)
import Glibc
#endif

/// Writes to a descriptor with `write(2)`, for the log and for the command line's messages.
///
/// Foundation's `FileHandle.write` stops the process when the write fails: with SIGPIPE
/// ignored (systemd leaves it ignored for a service and whatever the service runs, and the
/// daemons ignore it themselves), a closed stderr pipe turned `outpost check-config`'s
/// "exit 1 with a message" into a crash. Here a write that fails is reported to the caller,
/// who can do no better than carry on or exit with its code.
public enum StandardStream {
    /// Writes all of `text` to `fd`; false when the descriptor took only part or none of it
    /// (its reader gone, a full disk, a closed descriptor).
    @discardableResult
    public static func write(_ text: String, to fd: Int32) -> Bool {
        var text = text
        return text.withUTF8 { write(UnsafeRawBufferPointer($0), to: fd) }
    }

    /// Writes all of `bytes` to `fd`; false when the descriptor did not take them all.
    @discardableResult
    public static func write(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, base + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }
}
