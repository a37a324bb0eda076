#include "COutboxVFS.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>

/* Bytes of log gathered before they are written: 64 KiB, the most the default VFS's write
   takes in one call (it passes at most 128 KiB - 1 bytes to each pwrite and reads a short
   count of 0 as a full disk). */
#define BATCH_BYTES (1 << 16)
/* A write at least this large goes straight to the file. */
#define DIRECT_BYTES (BATCH_BYTES / 2)

static const char vfs_name[] = "outpost-outbox";
static sqlite3_vfs outbox_vfs;
static _Atomic long long log_writes;
static _Atomic long long log_syncs;

typedef struct OutboxFile OutboxFile;
struct OutboxFile {
    sqlite3_file base;
    sqlite3_file *real;        /* the default VFS's file, allocated right after this struct */
    int is_log;
    /* A log: its pending appends, [offset, offset + used). */
    unsigned char *batch;
    int used;
    sqlite3_int64 offset;
    /* An error from writing the batch at a point that cannot report one (a memory barrier):
       every later call on the log fails with it. */
    int failed;
    /* A log: the offset of the page whose frame header said "commit" (the next write), or -1.
       Once that page is written, the batch is too, so that a commit's frames are in the file
       (or its write failed, failing the commit) before SQLite publishes it, whatever the
       sync setting. */
    sqlite3_int64 commit_page;
    /* A database file: its open log (whose batch is written before any shared-memory call);
       a log: its database file. */
    OutboxFile *partner;
};

static sqlite3_vfs *real_vfs(void) { return (sqlite3_vfs *)outbox_vfs.pAppData; }

/* Writes the log's pending appends. */
static int write_batch(OutboxFile *p) {
    if (p->used == 0) return SQLITE_OK;
    int rc = p->real->pMethods->xWrite(p->real, p->batch, p->used, p->offset);
    p->used = 0;
    atomic_fetch_add(&log_writes, 1);
    return rc;
}

/* Before a call that needs the log's bytes in the file: the failure a barrier left, or the
   pending appends written. */
static int write_pending(OutboxFile *p) {
    return p->failed ? p->failed : write_batch(p);
}

/* Before a shared-memory call on a database file: its log's appends reach the file. A
   write that fails drops them, as a failed write would have: a commit's frames were written
   with its last page, so these are frames of no commit (a transaction's spill, or one being
   rolled back). */
static int write_partner_batch(OutboxFile *p) {
    if (p->is_log || p->partner == NULL) return SQLITE_OK;
    return write_batch(p->partner);
}

static int file_close(sqlite3_file *f) {
    OutboxFile *p = (OutboxFile *)f;
    int rc = p->is_log ? write_batch(p) : SQLITE_OK;
    if (p->partner != NULL && p->partner->partner == p) p->partner->partner = NULL;
    p->partner = NULL;
    sqlite3_free(p->batch);
    p->batch = NULL;
    int closed = p->real->pMethods->xClose(p->real);
    return rc != SQLITE_OK ? rc : closed;
}

static int file_read(sqlite3_file *f, void *data, int amount, sqlite3_int64 offset) {
    OutboxFile *p = (OutboxFile *)f;
    if (p->failed) return p->failed;
    if (p->used > 0 && offset < p->offset + p->used && offset + amount > p->offset) {
        int rc = write_batch(p);
        if (rc != SQLITE_OK) return rc;
    }
    return p->real->pMethods->xRead(p->real, data, amount, offset);
}

/* A log frame header (24 bytes after the 32-byte log header) whose second field, the
   database size after a commit, is not zero: the header of a transaction's last frame. */
static int is_commit_header(const void *data, int amount, sqlite3_int64 offset) {
    const unsigned char *b = data;
    return amount == 24 && offset >= 32 && (b[4] | b[5] | b[6] | b[7]) != 0;
}

/* Appends to the batch, or writes the batch and then starts a new one (or writes a large
   write straight to the file). */
static int gather(OutboxFile *p, const void *data, int amount, sqlite3_int64 offset) {
    if (p->used > 0 && offset == p->offset + p->used && p->used + amount <= BATCH_BYTES) {
        memcpy(p->batch + p->used, data, (size_t)amount);
        p->used += amount;
        return SQLITE_OK;
    }
    int rc = write_batch(p);
    if (rc != SQLITE_OK) return rc;
    if (amount < DIRECT_BYTES) {
        if (p->batch == NULL) p->batch = sqlite3_malloc(BATCH_BYTES);
        if (p->batch != NULL) {
            memcpy(p->batch, data, (size_t)amount);
            p->offset = offset;
            p->used = amount;
            return SQLITE_OK;
        }
    }
    atomic_fetch_add(&log_writes, 1);
    return p->real->pMethods->xWrite(p->real, data, amount, offset);
}

static int file_write(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset) {
    OutboxFile *p = (OutboxFile *)f;
    if (!p->is_log) return p->real->pMethods->xWrite(p->real, data, amount, offset);
    if (p->failed) return p->failed;
    int commit_page = p->commit_page == offset;
    p->commit_page = is_commit_header(data, amount, offset) ? offset + amount : -1;
    int rc = gather(p, data, amount, offset);
    if (rc != SQLITE_OK || !commit_page) return rc;
    /* The commit's last page: everything gathered goes to the file now, where a failure
       (a full disk) still fails the commit. */
    return write_batch(p);
}

static int file_truncate(sqlite3_file *f, sqlite3_int64 size) {
    OutboxFile *p = (OutboxFile *)f;
    int rc = write_pending(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xTruncate(p->real, size);
}

static int file_sync(sqlite3_file *f, int flags) {
    OutboxFile *p = (OutboxFile *)f;
    if (p->is_log) atomic_fetch_add(&log_syncs, 1);
    int rc = write_pending(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xSync(p->real, flags);
}

static int file_size(sqlite3_file *f, sqlite3_int64 *size) {
    OutboxFile *p = (OutboxFile *)f;
    int rc = write_pending(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFileSize(p->real, size);
}

static int file_lock(sqlite3_file *f, int level) {
    OutboxFile *p = (OutboxFile *)f;
    return p->real->pMethods->xLock(p->real, level);
}

static int file_unlock(sqlite3_file *f, int level) {
    OutboxFile *p = (OutboxFile *)f;
    return p->real->pMethods->xUnlock(p->real, level);
}

static int file_check_reserved_lock(sqlite3_file *f, int *out) {
    OutboxFile *p = (OutboxFile *)f;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int file_control(sqlite3_file *f, int op, void *arg) {
    OutboxFile *p = (OutboxFile *)f;
    int rc = write_pending(p);
    if (rc != SQLITE_OK) return rc;
    if (op == SQLITE_FCNTL_VFSNAME) {
        rc = p->real->pMethods->xFileControl(p->real, op, arg);
        if (rc == SQLITE_OK && arg != NULL) {
            char *below = *(char **)arg;
            *(char **)arg = sqlite3_mprintf("%s/%z", vfs_name, below);
        }
        return rc;
    }
    return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int file_sector_size(sqlite3_file *f) {
    OutboxFile *p = (OutboxFile *)f;
    return p->real->pMethods->xSectorSize(p->real);
}

static int file_device_characteristics(sqlite3_file *f) {
    OutboxFile *p = (OutboxFile *)f;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int file_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
    OutboxFile *p = (OutboxFile *)f;
    /* Mapping more of the index: spilled frames are about to be indexed; a failed write fails
       that (and so the transaction). */
    int rc = write_partner_batch(p);
    if (rc != SQLITE_OK) return rc;
    return p->real->pMethods->xShmMap(p->real, region, size, extend, out);
}

static int file_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
    OutboxFile *p = (OutboxFile *)f;
    /* Before a lock changes hands (a writer's, above all): what this connection wrote must be
       in the file, or another writer could append where this batch is later written. What is
       pending here belongs to no commit; the lock is changed whatever the write did. */
    (void)write_partner_batch(p);
    return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}

static void file_shm_barrier(sqlite3_file *f) {
    OutboxFile *p = (OutboxFile *)f;
    /* Published next: a log index header. A commit's frames were written with its last page
       (file_write), so frames still pending here belong to no commit; if their write fails
       now, nothing can report it, so that log fails every later call. */
    int rc = write_partner_batch(p);
    if (rc != SQLITE_OK) p->partner->failed = rc;
    p->real->pMethods->xShmBarrier(p->real);
}

static int file_shm_unmap(sqlite3_file *f, int delete_flag) {
    OutboxFile *p = (OutboxFile *)f;
    (void)write_partner_batch(p);
    return p->real->pMethods->xShmUnmap(p->real, delete_flag);
}

static int file_fetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
    OutboxFile *p = (OutboxFile *)f;
    return p->real->pMethods->xFetch(p->real, offset, amount, out);
}

static int file_unfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
    OutboxFile *p = (OutboxFile *)f;
    return p->real->pMethods->xUnfetch(p->real, offset, page);
}

static const sqlite3_io_methods outbox_io = {
    3,
    file_close, file_read, file_write, file_truncate, file_sync, file_size,
    file_lock, file_unlock, file_check_reserved_lock, file_control,
    file_sector_size, file_device_characteristics,
    file_shm_map, file_shm_lock, file_shm_barrier, file_shm_unmap,
    file_fetch, file_unfetch,
};

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
    (void)vfs;
    OutboxFile *p = (OutboxFile *)f;
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file *)&p[1];
    p->commit_page = -1;
    int rc = real_vfs()->xOpen(real_vfs(), name, p->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (p->real->pMethods != NULL) p->real->pMethods->xClose(p->real);
        p->base.pMethods = NULL;
        return rc;
    }
    /* Every method above forwards to one of the default VFS's version 3 methods. */
    if (p->real->pMethods->iVersion < 3) {
        p->real->pMethods->xClose(p->real);
        p->base.pMethods = NULL;
        return SQLITE_CANTOPEN;
    }
    if ((flags & SQLITE_OPEN_WAL) && name != NULL) {
        p->is_log = 1;
        sqlite3_file *database = sqlite3_database_file_object(name);
        if (database != NULL && database->pMethods == &outbox_io) {
            p->partner = (OutboxFile *)database;
            p->partner->partner = p;
        }
    }
    p->base.pMethods = &outbox_io;
    return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir) {
    (void)v;
    return real_vfs()->xDelete(real_vfs(), name, sync_dir);
}
static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
    (void)v;
    return real_vfs()->xAccess(real_vfs(), name, flags, out);
}
static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    (void)v;
    return real_vfs()->xFullPathname(real_vfs(), name, n, out);
}
static void *vfs_dl_open(sqlite3_vfs *v, const char *name) {
    (void)v;
    return real_vfs()->xDlOpen(real_vfs(), name);
}
static void vfs_dl_error(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    real_vfs()->xDlError(real_vfs(), n, out);
}
static void (*vfs_dl_sym(sqlite3_vfs *v, void *handle, const char *symbol))(void) {
    (void)v;
    return real_vfs()->xDlSym(real_vfs(), handle, symbol);
}
static void vfs_dl_close(sqlite3_vfs *v, void *handle) {
    (void)v;
    real_vfs()->xDlClose(real_vfs(), handle);
}
static int vfs_randomness(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return real_vfs()->xRandomness(real_vfs(), n, out);
}
static int vfs_sleep(sqlite3_vfs *v, int microseconds) {
    (void)v;
    return real_vfs()->xSleep(real_vfs(), microseconds);
}
static int vfs_current_time(sqlite3_vfs *v, double *out) {
    (void)v;
    return real_vfs()->xCurrentTime(real_vfs(), out);
}
static int vfs_get_last_error(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return real_vfs()->xGetLastError ? real_vfs()->xGetLastError(real_vfs(), n, out) : 0;
}
static int vfs_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out) {
    (void)v;
    return real_vfs()->xCurrentTimeInt64(real_vfs(), out);
}

static const char *registered;

static void register_once(void) {
    /* Files are named to SQLite as URIs ("file:…?vfs=…"), which this SQLite must understand. */
    if (!sqlite3_compileoption_used("USE_URI")) return;
    sqlite3_vfs *below = sqlite3_vfs_find(NULL);
    /* Version 2 (current time in milliseconds) is all this VFS forwards; the default VFS's
       system-call hooks (version 3) stay with it. */
    if (below == NULL || below->iVersion < 2) return;
    outbox_vfs.iVersion = 2;
    outbox_vfs.szOsFile = (int)sizeof(OutboxFile) + below->szOsFile;
    outbox_vfs.mxPathname = below->mxPathname;
    outbox_vfs.zName = vfs_name;
    outbox_vfs.pAppData = below;
    outbox_vfs.xOpen = vfs_open;
    outbox_vfs.xDelete = vfs_delete;
    outbox_vfs.xAccess = vfs_access;
    outbox_vfs.xFullPathname = vfs_full_pathname;
    outbox_vfs.xDlOpen = vfs_dl_open;
    outbox_vfs.xDlError = vfs_dl_error;
    outbox_vfs.xDlSym = vfs_dl_sym;
    outbox_vfs.xDlClose = vfs_dl_close;
    outbox_vfs.xRandomness = vfs_randomness;
    outbox_vfs.xSleep = vfs_sleep;
    outbox_vfs.xCurrentTime = vfs_current_time;
    outbox_vfs.xGetLastError = vfs_get_last_error;
    outbox_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
    if (sqlite3_vfs_register(&outbox_vfs, 0) == SQLITE_OK) registered = vfs_name;
}

const char *outpost_outbox_vfs_register(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return registered;
}

long long outpost_outbox_vfs_log_writes(void) { return atomic_load(&log_writes); }

long long outpost_outbox_vfs_log_syncs(void) { return atomic_load(&log_syncs); }
