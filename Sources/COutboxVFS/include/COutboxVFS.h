#ifndef COUTBOXVFS_H
#define COUTBOXVFS_H

/// The outbox's SQLite VFS: the system's default VFS, except that appends to a
/// write-ahead log are gathered in memory and written with one system call per 64 KiB.
///
/// SQLite writes each log frame as two writes (a 24-byte header, then the page): a commit
/// of 1 MB of events costs some 550 write calls, here about 20 (of 64 KiB). This VFS hands
/// the same bytes, in the same order, to the same file, before every point at which they
/// could be needed or observed:
/// the page of a commit's last frame (its header says "commit"), a sync, a read or size
/// query of the log, any lock change or memory barrier on the shared log index (so no other
/// connection can see a commit whose frames are still here), a file control, a truncation,
/// a write that is not the next append, and close.
/// A write that fails there fails that call, as the unbatched write would have: at the
/// commit's last page, the commit fails (a full disk refuses the commit, whatever the sync
/// setting). The one point that cannot report a failure is the memory barrier, which now
/// finds only frames of no commit (a transaction's spill); a write failing there makes every
/// later call on that log fail.
///
/// Registers the VFS (once per process, not as the default); returns its name, or NULL when
/// this SQLite cannot take it (then the caller opens files as usual).
const char *outpost_outbox_vfs_register(void);

/// Log writes that reached the file since the process started: for tests, which check
/// that appends are gathered (fewer writes than frames) and that nothing is left unwritten.
long long outpost_outbox_vfs_log_writes(void);

/// Syncs of a log since the process started: for tests, which check that a commit is
/// synced before it returns.
long long outpost_outbox_vfs_log_syncs(void);

#endif
