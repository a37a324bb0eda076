import EventModel
import Glibc

/// What `fstat` says about an input file, compared before its hash and after its decoding
/// to tell whether both read the same bytes (``InputChangedWhileRead``).
///
/// Size and mtime, not ctime: a file renamed over by a writer, or unlinked, keeps its bytes
/// (the descriptor still reads them) but gets a new ctime; that is not a change of content.
struct InputSnapshot: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var mtime: timespec

    /// The file behind `input`; nil for bytes in memory (they cannot change) or when
    /// `fstat` fails (the reads then fail too).
    static func of(_ input: DocumentInput) -> InputSnapshot? {
        guard case .fileDescriptor(let fd) = input else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return InputSnapshot(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size), mtime: st.st_mtim)
    }

    static func == (a: InputSnapshot, b: InputSnapshot) -> Bool {
        a.device == b.device && a.inode == b.inode && a.size == b.size
            && a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec
    }
}
