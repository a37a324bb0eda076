/*
 * powercutfs: a FUSE 3 passthrough filesystem that can simulate a power cut.
 *
 *     powercutfs BACKING MOUNTPOINT STATEDIR [-f] [-s] [-o fuse options]
 *
 * The mount shows BACKING as it is (every read sees every write made through the mount: the
 * "live view", like the page cache of a running machine). Beside it, powercutfs keeps the
 * "durable view": what a disk would hold if the power went off now. At a cut, everything
 * that was not made durable is dropped (all of it, or a seeded random part), the durable view
 * is written out as a fresh directory tree, and every later operation on the mount fails
 * with EIO until it is unmounted. The next mount uses that tree as its BACKING.
 *
 * The model (what makes a change durable):
 *
 *   File data   A write or truncate of a regular file (write, ftruncate, truncate,
 *               open with O_TRUNC) is pending until an fsync or fdatasync of that file
 *               (through any descriptor of it); the sync makes all of the file's pending
 *               data durable, in order. Nothing else does: closing a file does not.
 *   Namespace   create, mkdir, symlink, link, unlink, rmdir and rename are pending until an
 *               fsync of a directory they change (for a rename: the source's or the
 *               target's; a rename is atomic, durable as a whole or not at all). An
 *               operation made durable takes along the earlier pending operations on the
 *               same inode or the same directory entry (a rename of a file created just
 *               before brings the creation along), never others: a new file whose
 *               directory was not fsynced is gone after a cut even if its data was synced.
 *               A directory made durable in its parent but whose own entries were not
 *               synced comes back empty.
 *   Metadata    modes, owners and times are not modelled: the materialised tree takes the
 *               mode an inode had when it was last seen (a cut never rolls them back).
 *
 *   At mount, all of BACKING is durable.
 *
 * The cut (control channel). STATEDIR/control is a FIFO; write one line to it:
 *
 *     cut all OUTDIR          drop every pending operation
 *     cut random:SEED OUTDIR  keep a random part: for each file, each pending data
 *                             operation is kept with a probability drawn for that file,
 *                             in order; the last kept write is torn at a 512-byte or
 *                             4 KiB boundary half of the time (when it spans one). Each
 *                             pending namespace operation is kept with a probability
 *                             drawn for the cut, together with the earlier operations
 *                             it depends on (same inode or entry), in order.
 *     status                  report how much is pending
 *     pending                 list the pending operations in STATEDIR/pending.txt
 *
 * The answer is written to STATEDIR/reply (replaced atomically) as one line of
 * "key=value" pairs, e.g. "ok cut=random:7 data_kept=3 data_dropped=5 torn=1 ns_kept=2
 * ns_dropped=1". A cut writes the durable view to OUTDIR (which must not exist), then the
 * mount answers EIO to everything; unmount it (fusermount3 -u MOUNTPOINT) to end the process.
 * The same pending state and the same seed always give the same OUTDIR.
 *
 * How: the live view is BACKING itself. Each inode gets a node number at mount (or when
 * created); the durable content of node N is STATEDIR/durable/N, copied from BACKING at
 * mount; pending writes are kept in memory (offset and bytes) per node until applied by a
 * sync. The durable namespace is a table of entries (name -> node) per directory node,
 * changed only by applying namespace operations. One lock serialises every change and the
 * cut, so an fsync that returned before the cut is in the durable view and one that did not
 * is not.
 *
 * Build: gcc -O2 -Wall -o powercutfs powercutfs.c $(pkg-config --cflags --libs fuse3)
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <search.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

/* MARK: state */

enum { DATA_WRITE = 1, DATA_TRUNCATE = 2 };
struct data_op { int kind; off_t offset; size_t length; char *bytes; };

struct dentry { char *name; uint64_t child; };

struct node {
    mode_t mode;              /* type and permissions, last seen */
    ino_t ino;                /* backing inode while live */
    int live_mapped;          /* ino maps to this node */
    char *link_target;        /* symlinks */
    struct data_op *ops; size_t nops, capops;     /* pending data, in order */
    struct dentry *entries; size_t nentries, capentries; /* durable entries (directories) */
    char *out_path;           /* during materialisation: where it was written (hard links) */
};

enum { NS_LINK = 1, NS_REMOVE = 2, NS_RENAME = 3 };
struct ns_op {
    int kind;
    uint64_t dir1; char *name1;   /* LINK: new entry; REMOVE: removed; RENAME: source */
    uint64_t dir2; char *name2;   /* RENAME: target */
    uint64_t node;                /* the inode named */
    uint64_t replaced;            /* RENAME: the node the target named before, or 0 */
    int mark;
};

static struct node *nodes;        /* index = node number; 0 unused */
static size_t nnodes = 1, capnodes;
static struct ns_op *nsops;
static size_t nnsops, capnsops;
static void *ino_tree;            /* tsearch tree of struct ino_map */
struct ino_map { ino_t ino; uint64_t node; };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int power_is_off;
static int backing_fd = -1;
static char *backing_root, *state_dir, *durable_dir;
static uint64_t root_node;

static void die(const char *what) { perror(what); exit(2); }

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) die("realloc");
    return q;
}

#define GROW(arr, count, cap) do { \
    if ((count) >= (cap)) { (cap) = (cap) ? (cap) * 2 : 16; (arr) = xrealloc((arr), (cap) * sizeof *(arr)); } \
} while (0)

static int ino_compare(const void *a, const void *b) {
    ino_t x = ((const struct ino_map *)a)->ino, y = ((const struct ino_map *)b)->ino;
    return x < y ? -1 : x > y;
}

static uint64_t node_of_ino(ino_t ino) {
    struct ino_map key = { ino, 0 };
    void *found = tfind(&key, &ino_tree, ino_compare);
    return found ? (*(struct ino_map **)found)->node : 0;
}

static void unmap_ino(uint64_t n) {
    if (!n || !nodes[n].live_mapped) return;
    struct ino_map key = { nodes[n].ino, 0 };
    void *found = tfind(&key, &ino_tree, ino_compare);
    if (found) {
        struct ino_map *m = *(struct ino_map **)found;
        if (m->node == n) { tdelete(&key, &ino_tree, ino_compare); free(m); }
    }
    nodes[n].live_mapped = 0;
}

static uint64_t new_node(const struct stat *st) {
    GROW(nodes, nnodes, capnodes);
    uint64_t n = nnodes++;
    memset(&nodes[n], 0, sizeof nodes[n]);
    nodes[n].mode = st->st_mode;
    nodes[n].ino = st->st_ino;
    struct ino_map *m = xrealloc(NULL, sizeof *m);
    m->ino = st->st_ino; m->node = n;
    void *slot = tsearch(m, &ino_tree, ino_compare);
    if (*(struct ino_map **)slot != m) {   /* a stale mapping of a reused inode number */
        struct ino_map *old = *(struct ino_map **)slot;
        nodes[old->node].live_mapped = 0;
        old->node = n;
        free(m);
    }
    nodes[n].live_mapped = 1;
    return n;
}

static const char *rel(const char *path) { return path[1] ? path + 1 : "."; }

/* The node of a live path (created on the fly for an inode made behind the mount's back). */
static uint64_t node_at(const char *path) {
    struct stat st;
    if (fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    uint64_t n = node_of_ino(st.st_ino);
    if (!n) n = new_node(&st);
    nodes[n].mode = st.st_mode;
    return n;
}

static void split(const char *path, char *parent, const char **name) {
    const char *slash = strrchr(path, '/');
    size_t len = (size_t)(slash - path);
    if (len == 0) strcpy(parent, "/");
    else { memcpy(parent, path, len); parent[len] = 0; }
    *name = slash + 1;
}

/* MARK: durable namespace */

static struct dentry *find_entry(uint64_t dir, const char *name) {
    struct node *d = &nodes[dir];
    for (size_t i = 0; i < d->nentries; i++)
        if (strcmp(d->entries[i].name, name) == 0) return &d->entries[i];
    return NULL;
}

static void set_entry(uint64_t dir, const char *name, uint64_t child) {
    struct dentry *e = find_entry(dir, name);
    if (e) { e->child = child; return; }
    struct node *d = &nodes[dir];
    GROW(d->entries, d->nentries, d->capentries);
    d->entries[d->nentries].name = strdup(name);
    d->entries[d->nentries].child = child;
    d->nentries++;
}

static void remove_entry(uint64_t dir, const char *name, uint64_t child) {
    struct dentry *e = find_entry(dir, name);
    if (!e || e->child != child) return;
    struct node *d = &nodes[dir];
    free(e->name);
    *e = d->entries[--d->nentries];
}

static void apply_ns(const struct ns_op *op) {
    switch (op->kind) {
    case NS_LINK: set_entry(op->dir1, op->name1, op->node); break;
    case NS_REMOVE: remove_entry(op->dir1, op->name1, op->node); break;
    case NS_RENAME:
        remove_entry(op->dir1, op->name1, op->node);
        set_entry(op->dir2, op->name2, op->node);
        break;
    }
}

static void add_ns(int kind, uint64_t dir1, const char *name1, uint64_t dir2, const char *name2,
                   uint64_t node, uint64_t replaced) {
    GROW(nsops, nnsops, capnsops);
    struct ns_op *op = &nsops[nnsops++];
    op->kind = kind; op->dir1 = dir1; op->name1 = strdup(name1);
    op->dir2 = dir2; op->name2 = name2 ? strdup(name2) : NULL;
    op->node = node; op->replaced = replaced; op->mark = 0;
}

/* Keys of an operation: the nodes it names and the entries it changes. */
struct keys { uint64_t *nodes; size_t nn, cn; uint64_t *dirs; const char **names; size_t ne, ce; };

static void keys_add(struct keys *k, const struct ns_op *op) {
    uint64_t ns[2] = { op->node, op->replaced };
    for (int i = 0; i < 2; i++) if (ns[i]) { GROW(k->nodes, k->nn, k->cn); k->nodes[k->nn++] = ns[i]; }
    uint64_t ds[2] = { op->dir1, op->kind == NS_RENAME ? op->dir2 : 0 };
    const char *nm[2] = { op->name1, op->name2 };
    for (int i = 0; i < 2; i++) if (ds[i]) {
        if (k->ne == k->ce) {
            k->ce = k->ce ? k->ce * 2 : 16;
            k->dirs = xrealloc(k->dirs, k->ce * sizeof *k->dirs);
            k->names = xrealloc(k->names, k->ce * sizeof *k->names);
        }
        k->dirs[k->ne] = ds[i]; k->names[k->ne] = nm[i]; k->ne++;
    }
}

static int keys_touch(const struct keys *k, const struct ns_op *op) {
    for (size_t i = 0; i < k->nn; i++)
        if (k->nodes[i] == op->node || (op->replaced && k->nodes[i] == op->replaced)) return 1;
    for (size_t i = 0; i < k->ne; i++) {
        if (k->dirs[i] == op->dir1 && strcmp(k->names[i], op->name1) == 0) return 1;
        if (op->kind == NS_RENAME && k->dirs[i] == op->dir2 && strcmp(k->names[i], op->name2) == 0) return 1;
    }
    return 0;
}

/* Applies the marked pending operations and those they depend on, in order; drops them from
 * the pending list. Returns how many were applied. */
static size_t apply_marked_ns(void) {
    struct keys k = { 0 };
    for (size_t j = nnsops; j-- > 0;) {
        if (!nsops[j].mark && keys_touch(&k, &nsops[j])) nsops[j].mark = 1;
        if (nsops[j].mark) keys_add(&k, &nsops[j]);
    }
    free(k.nodes); free(k.dirs); free(k.names);
    size_t applied = 0, kept = 0;
    for (size_t j = 0; j < nnsops; j++) {
        if (nsops[j].mark) {
            apply_ns(&nsops[j]);
            free(nsops[j].name1); free(nsops[j].name2);
            applied++;
        } else {
            nsops[kept++] = nsops[j];
        }
    }
    nnsops = kept;
    return applied;
}

static void sync_directory(uint64_t dir) {
    for (size_t j = 0; j < nnsops; j++)
        nsops[j].mark = nsops[j].dir1 == dir || (nsops[j].kind == NS_RENAME && nsops[j].dir2 == dir);
    apply_marked_ns();
}

/* MARK: durable data */

static char *durable_path(uint64_t n) {
    char *p;
    if (asprintf(&p, "%s/%llu", durable_dir, (unsigned long long)n) < 0) die("asprintf");
    return p;
}

static void add_data(uint64_t n, int kind, off_t offset, const char *bytes, size_t length) {
    struct node *nd = &nodes[n];
    GROW(nd->ops, nd->nops, nd->capops);
    struct data_op *op = &nd->ops[nd->nops++];
    op->kind = kind; op->offset = offset; op->length = length;
    op->bytes = NULL;
    if (kind == DATA_WRITE) { op->bytes = xrealloc(NULL, length); memcpy(op->bytes, bytes, length); }
}

static int apply_data_op(int fd, const struct data_op *op, size_t length) {
    if (op->kind == DATA_TRUNCATE) return ftruncate(fd, op->offset);
    size_t done = 0;
    while (done < length) {
        ssize_t w = pwrite(fd, op->bytes + done, length - done, op->offset + (off_t)done);
        if (w <= 0) return -1;
        done += (size_t)w;
    }
    return 0;
}

static void clear_data(struct node *nd) {
    for (size_t i = 0; i < nd->nops; i++) free(nd->ops[i].bytes);
    nd->nops = 0;
}

/* fsync: every pending data operation of the node becomes durable. */
static int sync_data(uint64_t n) {
    struct node *nd = &nodes[n];
    if (!nd->nops) return 0;
    char *p = durable_path(n);
    int fd = open(p, O_WRONLY | O_CREAT, 0600);
    free(p);
    if (fd < 0) return -errno;
    int rc = 0;
    for (size_t i = 0; i < nd->nops && rc == 0; i++)
        if (apply_data_op(fd, &nd->ops[i], nd->ops[i].length) != 0) rc = -errno;
    close(fd);
    clear_data(nd);
    return rc;
}

/* MARK: mount-time snapshot and cut-time materialisation */

static int copy_file(int in, int out) {
    char buf[1 << 16];
    ssize_t r;
    while ((r = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)r) != r) return -1;
    return r < 0 ? -1 : 0;
}

/* Makes every inode under `dirfd` (node `dir`) durable, as it is now. */
static void snapshot(int dirfd, uint64_t dir) {
    DIR *d = fdopendir(dirfd);
    if (!d) die("fdopendir");
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) die("fstatat");
        uint64_t n = node_of_ino(st.st_ino);
        if (n) { set_entry(dir, de->d_name, n); continue; }   /* a hard link */
        n = new_node(&st);
        set_entry(dir, de->d_name, n);
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY);
            if (sub < 0) die("openat dir");
            snapshot(sub, n);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t len = readlinkat(dirfd, de->d_name, target, sizeof target - 1);
            if (len < 0) die("readlinkat");
            target[len] = 0;
            nodes[n].link_target = strdup(target);
        } else if (S_ISREG(st.st_mode)) {
            int in = openat(dirfd, de->d_name, O_RDONLY);
            char *p = durable_path(n);
            int out = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (in < 0 || out < 0 || copy_file(in, out) != 0) die(p);
            free(p); close(in); close(out);
        }
    }
    closedir(d);
}

static int materialise(uint64_t dir, const char *out, int depth) {
    if (depth > 64) return 0;
    struct node *d = &nodes[dir];
    for (size_t i = 0; i < d->nentries; i++) {
        uint64_t n = d->entries[i].child;
        struct node *nd = &nodes[n];
        char *p;
        if (asprintf(&p, "%s/%s", out, d->entries[i].name) < 0) die("asprintf");
        mode_t perm = nd->mode & 07777;
        if (S_ISDIR(nd->mode)) {
            if (nd->out_path) { free(p); continue; }   /* a directory named twice: once */
            nd->out_path = p;
            if (mkdir(p, perm | 0700) != 0) return -1;
            if (materialise(n, p, depth + 1) != 0) return -1;
            continue;
        } else if (S_ISLNK(nd->mode)) {
            if (symlink(nd->link_target ? nd->link_target : "", p) != 0) return -1;
        } else if (nd->out_path) {
            if (link(nd->out_path, p) != 0) return -1;
        } else if (S_ISREG(nd->mode)) {
            char *src = durable_path(n);
            int in = open(src, O_RDONLY);
            free(src);
            int o = open(p, O_WRONLY | O_CREAT | O_EXCL, perm);
            if (o < 0) return -1;
            if (in >= 0) { if (copy_file(in, o) != 0) return -1; close(in); }
            close(o);
            nd->out_path = p;
            continue;
        } else if (S_ISFIFO(nd->mode)) {
            if (mkfifo(p, perm) != 0) return -1;
        }
        free(p);
    }
    return 0;
}

/* Seeded generator (splitmix64): the same seed and pending state give the same cut. */
static uint64_t rng_state;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double rng_unit(void) { return (double)(rng() >> 11) / (double)(1ULL << 53); }

struct cut_counts { size_t data_kept, data_dropped, torn, ns_kept, ns_dropped; };

/* The last kept write torn at a sector (512) or page (4096) boundary it spans, half the time. */
static size_t torn_length(const struct data_op *op, int *torn) {
    *torn = 0;
    if (op->kind != DATA_WRITE || op->length <= 512 || rng_unit() < 0.5) return op->length;
    off_t start = op->offset, end = op->offset + (off_t)op->length;
    off_t grains[2] = { rng_unit() < 0.5 ? 4096 : 512, 512 };
    for (int g = 0; g < 2; g++) {
        off_t grain = grains[g];
        off_t first = (start / grain + 1) * grain, last = ((end - 1) / grain) * grain;
        if (first > last) continue;
        uint64_t choices = (uint64_t)((last - first) / grain) + 1;
        off_t at = first + (off_t)(rng() % choices) * grain;
        *torn = 1;
        return (size_t)(at - start);
    }
    return op->length;
}

static int cut(const char *mode, const char *out, struct cut_counts *c) {
    int random_mode = strncmp(mode, "random:", 7) == 0;
    if (!random_mode && strcmp(mode, "all") != 0) return -EINVAL;
    if (random_mode) rng_state = strtoull(mode + 7, NULL, 10) * 2654435761ULL + 1;
    memset(c, 0, sizeof *c);
    for (uint64_t n = 1; n < nnodes; n++) {
        struct node *nd = &nodes[n];
        if (!nd->nops) continue;
        if (!random_mode) { c->data_dropped += nd->nops; clear_data(nd); continue; }
        double keep = rng_unit();
        size_t last = SIZE_MAX;
        int *kept = xrealloc(NULL, nd->nops * sizeof *kept);
        for (size_t i = 0; i < nd->nops; i++) {
            kept[i] = rng_unit() < keep;
            if (kept[i]) last = i;
        }
        char *p = durable_path(n);
        int fd = last == SIZE_MAX ? -1 : open(p, O_WRONLY | O_CREAT, 0600);
        free(p);
        for (size_t i = 0; i < nd->nops; i++) {
            if (!kept[i]) { c->data_dropped++; continue; }
            size_t length = nd->ops[i].length;
            if (i == last) { int torn; length = torn_length(&nd->ops[i], &torn); c->torn += (size_t)torn; }
            if (fd >= 0) apply_data_op(fd, &nd->ops[i], length);
            c->data_kept++;
        }
        if (fd >= 0) close(fd);
        free(kept);
        clear_data(nd);
    }
    double keep = random_mode ? rng_unit() : 0;
    for (size_t j = 0; j < nnsops; j++) nsops[j].mark = random_mode && rng_unit() < keep;
    size_t pending = nnsops;
    c->ns_kept = apply_marked_ns();
    c->ns_dropped = pending - c->ns_kept;
    for (size_t j = 0; j < nnsops; j++) { free(nsops[j].name1); free(nsops[j].name2); }
    nnsops = 0;
    if (mkdir(out, 0755) != 0) return -errno;
    for (uint64_t n = 1; n < nnodes; n++) { free(nodes[n].out_path); nodes[n].out_path = NULL; }
    if (materialise(root_node, out, 0) != 0) return -errno;
    return 0;
}

/* MARK: control channel */

static void reply(const char *fmt, ...) {
    char *tmp, *final;
    if (asprintf(&tmp, "%s/reply.tmp", state_dir) < 0 || asprintf(&final, "%s/reply", state_dir) < 0) die("asprintf");
    FILE *f = fopen(tmp, "w");
    if (!f) die(tmp);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
    rename(tmp, final);
    free(tmp); free(final);
}

static void *control_loop(void *arg) {
    const char *fifo = arg;
    char line[PATH_MAX + 64];
    for (;;) {
        FILE *f = fopen(fifo, "r");
        if (!f) { sleep(1); continue; }
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            char mode[64], out[PATH_MAX];
            pthread_mutex_lock(&lock);
            if (strcmp(line, "status") == 0) {
                size_t data = 0, bytes = 0;
                for (uint64_t n = 1; n < nnodes; n++) {
                    data += nodes[n].nops;
                    for (size_t i = 0; i < nodes[n].nops; i++) bytes += nodes[n].ops[i].length;
                }
                reply("ok power=%s data_pending=%zu bytes_pending=%zu ns_pending=%zu nodes=%zu",
                      power_is_off ? "off" : "on", data, bytes, nnsops, nnodes - 1);
            } else if (strcmp(line, "pending") == 0) {
                /* STATEDIR/pending.txt: one line per pending operation, oldest first. */
                char *path;
                if (asprintf(&path, "%s/pending.txt", state_dir) < 0) die("asprintf");
                FILE *f = fopen(path, "w");
                if (f) {
                    static const char *kinds[] = { "", "link", "remove", "rename" };
                    for (size_t j = 0; j < nnsops; j++)
                        fprintf(f, "namespace %s dir=%llu name=%s%s%s node=%llu\n", kinds[nsops[j].kind],
                                (unsigned long long)nsops[j].dir1, nsops[j].name1,
                                nsops[j].name2 ? " to=" : "", nsops[j].name2 ? nsops[j].name2 : "",
                                (unsigned long long)nsops[j].node);
                    for (uint64_t n = 1; n < nnodes; n++)
                        for (size_t i = 0; i < nodes[n].nops; i++)
                            fprintf(f, "data node=%llu %s offset=%lld length=%zu\n", (unsigned long long)n,
                                    nodes[n].ops[i].kind == DATA_WRITE ? "write" : "truncate",
                                    (long long)nodes[n].ops[i].offset, nodes[n].ops[i].length);
                    fclose(f);
                }
                free(path);
                reply("ok pending=%zu", nnsops);
            } else if (sscanf(line, "cut %63s %4095s", mode, out) == 2) {
                if (power_is_off) {
                    reply("error power is already off");
                } else {
                    struct cut_counts c;
                    power_is_off = 1;   /* from here on, everything fails with EIO */
                    int rc = cut(mode, out, &c);
                    if (rc) reply("error cut %s: %s", mode, strerror(-rc));
                    else reply("ok cut=%s data_kept=%zu data_dropped=%zu torn=%zu ns_kept=%zu ns_dropped=%zu",
                               mode, c.data_kept, c.data_dropped, c.torn, c.ns_kept, c.ns_dropped);
                }
            } else {
                reply("error unknown command: %s", line);
            }
            pthread_mutex_unlock(&lock);
        }
        fclose(f);
    }
    return NULL;
}

/* MARK: FUSE operations */

#define POWER() do { if (power_is_off) return -EIO; } while (0)
#define LOCKED_POWER() do { pthread_mutex_lock(&lock); if (power_is_off) { pthread_mutex_unlock(&lock); return -EIO; } } while (0)

struct handle { int fd; uint64_t node; DIR *dir; };
#define HANDLE(fi) ((struct handle *)(uintptr_t)(fi)->fh)

static void *pc_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    (void)conn;
    cfg->hard_remove = 1;      /* unlink of an open file is an unlink, not a rename to .fuse_hidden */
    cfg->use_ino = 1;
    cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
    return NULL;
}

static int pc_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    POWER();
    int rc = fi && HANDLE(fi)->fd >= 0 ? fstat(HANDLE(fi)->fd, st) : fstatat(backing_fd, rel(path), st, AT_SYMLINK_NOFOLLOW);
    return rc ? -errno : 0;
}

static int pc_access(const char *path, int mask) {
    POWER();
    return faccessat(backing_fd, rel(path), mask, 0) ? -errno : 0;
}

static int pc_readlink(const char *path, char *buf, size_t size) {
    POWER();
    ssize_t len = readlinkat(backing_fd, rel(path), buf, size - 1);
    if (len < 0) return -errno;
    buf[len] = 0;
    return 0;
}

static int pc_statfs(const char *path, struct statvfs *st) {
    (void)path;
    POWER();
    return fstatvfs(backing_fd, st) ? -errno : 0;
}

/* Records a new name for a just created inode. */
static void record_link(const char *path, const struct stat *st, int fresh) {
    char parent[PATH_MAX]; const char *name;
    split(path, parent, &name);
    uint64_t dir = node_at(parent);
    uint64_t n = fresh ? new_node(st) : node_at(path);
    if (fresh && S_ISDIR(st->st_mode)) nodes[n].nentries = 0;
    add_ns(NS_LINK, dir, name, 0, NULL, n, 0);
}

static int pc_mkdir(const char *path, mode_t mode) {
    LOCKED_POWER();
    int rc = mkdirat(backing_fd, rel(path), mode) ? -errno : 0;
    struct stat st;
    if (!rc && fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0) record_link(path, &st, 1);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pc_symlink(const char *target, const char *path) {
    LOCKED_POWER();
    int rc = symlinkat(target, backing_fd, rel(path)) ? -errno : 0;
    struct stat st;
    if (!rc && fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        record_link(path, &st, 1);
        nodes[nnodes - 1].link_target = strdup(target);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pc_mknod(const char *path, mode_t mode, dev_t dev) {
    if (!S_ISFIFO(mode)) return -EPERM;
    LOCKED_POWER();
    int rc = mknodat(backing_fd, rel(path), mode, dev) ? -errno : 0;
    struct stat st;
    if (!rc && fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0) record_link(path, &st, 1);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pc_link(const char *from, const char *to) {
    LOCKED_POWER();
    int rc = linkat(backing_fd, rel(from), backing_fd, rel(to), 0) ? -errno : 0;
    if (!rc) record_link(to, NULL, 0);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int remove_path(const char *path, int is_dir) {
    LOCKED_POWER();
    char parent[PATH_MAX]; const char *name;
    split(path, parent, &name);
    struct stat st;
    int rc = fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
    uint64_t n = rc ? 0 : node_at(path), dir = node_at(parent);
    if (!rc) rc = unlinkat(backing_fd, rel(path), is_dir ? AT_REMOVEDIR : 0) ? -errno : 0;
    if (!rc) {
        add_ns(NS_REMOVE, dir, name, 0, NULL, n, 0);
        if (is_dir || st.st_nlink <= 1) unmap_ino(n);   /* the inode number may be reused */
    }
    pthread_mutex_unlock(&lock);
    return rc;
}
static int pc_unlink(const char *path) { return remove_path(path, 0); }
static int pc_rmdir(const char *path) { return remove_path(path, 1); }

static int pc_rename(const char *from, const char *to, unsigned int flags) {
    if (flags & ~RENAME_NOREPLACE) return -EINVAL;
    LOCKED_POWER();
    char p1[PATH_MAX], p2[PATH_MAX]; const char *n1, *n2;
    split(from, p1, &n1);
    split(to, p2, &n2);
    uint64_t node = node_at(from), d1 = node_at(p1), d2 = node_at(p2);
    struct stat target;
    int replaces = fstatat(backing_fd, rel(to), &target, AT_SYMLINK_NOFOLLOW) == 0;
    uint64_t replaced = replaces ? node_at(to) : 0;
    int rc = renameat2(backing_fd, rel(from), backing_fd, rel(to), flags) ? -errno : 0;
    if (!rc && node && replaced != node) {
        add_ns(NS_RENAME, d1, n1, d2, n2, node, replaced);
        if (replaced && (S_ISDIR(target.st_mode) || target.st_nlink <= 1)) unmap_ino(replaced);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pc_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
    LOCKED_POWER();
    int rc = (fi ? fchmod(HANDLE(fi)->fd, mode) : fchmodat(backing_fd, rel(path), mode, 0)) ? -errno : 0;
    if (!rc) { uint64_t n = fi ? HANDLE(fi)->node : node_at(path); if (n) nodes[n].mode = (nodes[n].mode & S_IFMT) | (mode & 07777); }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pc_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
    POWER();
    int rc = fi ? fchown(HANDLE(fi)->fd, uid, gid) : fchownat(backing_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
    return rc ? -errno : 0;
}

static int pc_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    POWER();
    int rc = fi ? futimens(HANDLE(fi)->fd, tv) : utimensat(backing_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW);
    return rc ? -errno : 0;
}

static int pc_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    LOCKED_POWER();
    int rc;
    uint64_t n;
    if (fi) { rc = ftruncate(HANDLE(fi)->fd, size) ? -errno : 0; n = HANDLE(fi)->node; }
    else {
        int fd = openat(backing_fd, rel(path), O_WRONLY);
        rc = fd < 0 || ftruncate(fd, size) ? -errno : 0;
        if (fd >= 0) close(fd);
        n = node_at(path);
    }
    if (!rc && n) add_data(n, DATA_TRUNCATE, size, NULL, 0);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int open_file(const char *path, struct fuse_file_info *fi, int create, mode_t mode) {
    LOCKED_POWER();
    struct stat st;
    int existed = fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0;
    int flags = fi->flags & ~O_NOFOLLOW;
    int fd = create ? openat(backing_fd, rel(path), flags | O_CREAT, mode) : openat(backing_fd, rel(path), flags);
    if (fd < 0) { int e = errno; pthread_mutex_unlock(&lock); return -e; }
    uint64_t n;
    if (!existed) {
        fstat(fd, &st);
        record_link(path, &st, 1);
        n = nnodes - 1;
    } else {
        n = node_at(path);
        if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && st.st_size > 0) add_data(n, DATA_TRUNCATE, 0, NULL, 0);
    }
    struct handle *h = xrealloc(NULL, sizeof *h);
    h->fd = fd; h->node = n; h->dir = NULL;
    fi->fh = (uint64_t)(uintptr_t)h;
    pthread_mutex_unlock(&lock);
    return 0;
}
static int pc_open(const char *path, struct fuse_file_info *fi) { return open_file(path, fi, 0, 0); }
static int pc_create(const char *path, mode_t mode, struct fuse_file_info *fi) { return open_file(path, fi, 1, mode); }

static int pc_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)path;
    POWER();
    ssize_t r = pread(HANDLE(fi)->fd, buf, size, off);
    return r < 0 ? -errno : (int)r;
}

static int pc_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)path;
    LOCKED_POWER();
    struct handle *h = HANDLE(fi);
    if (fi->flags & O_APPEND) { struct stat st; fstat(h->fd, &st); off = st.st_size; }
    ssize_t w = pwrite(h->fd, buf, size, off);
    int rc = w < 0 ? -errno : (int)w;
    if (w > 0) add_data(h->node, DATA_WRITE, off, buf, (size_t)w);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pc_flush(const char *path, struct fuse_file_info *fi) { (void)path; (void)fi; POWER(); return 0; }

static int pc_release(const char *path, struct fuse_file_info *fi) {
    (void)path;
    struct handle *h = HANDLE(fi);
    close(h->fd);
    free(h);
    return 0;
}

static int pc_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)path; (void)datasync;
    LOCKED_POWER();
    int rc = fsync(HANDLE(fi)->fd) ? -errno : 0;   /* the backing, for form's sake */
    if (!rc) rc = sync_data(HANDLE(fi)->node);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pc_opendir(const char *path, struct fuse_file_info *fi) {
    LOCKED_POWER();
    int fd = openat(backing_fd, rel(path), O_RDONLY | O_DIRECTORY);
    int rc = fd < 0 ? -errno : 0;
    if (!rc) {
        struct handle *h = xrealloc(NULL, sizeof *h);
        h->fd = fd; h->node = node_at(path); h->dir = NULL;
        fi->fh = (uint64_t)(uintptr_t)h;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int pc_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
    (void)path; (void)off; (void)flags;
    POWER();
    struct handle *h = HANDLE(fi);
    int fd = dup(h->fd);
    if (fd < 0) return -errno;
    DIR *d = fdopendir(fd);
    if (!d) { close(fd); return -errno; }
    rewinddir(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st = { 0 };
        st.st_ino = de->d_ino;
        st.st_mode = (mode_t)DTTOIF(de->d_type);
        if (filler(buf, de->d_name, &st, 0, 0)) break;
    }
    closedir(d);
    return 0;
}

static int pc_releasedir(const char *path, struct fuse_file_info *fi) { return pc_release(path, fi); }

static int pc_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)path; (void)datasync;
    LOCKED_POWER();
    struct handle *h = HANDLE(fi);
    int rc = fsync(h->fd) ? -errno : 0;
    if (!rc && h->node) sync_directory(h->node);
    pthread_mutex_unlock(&lock);
    return rc;
}

static const struct fuse_operations operations = {
    .init = pc_init, .getattr = pc_getattr, .access = pc_access, .readlink = pc_readlink,
    .statfs = pc_statfs, .mkdir = pc_mkdir, .symlink = pc_symlink, .mknod = pc_mknod, .link = pc_link,
    .unlink = pc_unlink, .rmdir = pc_rmdir, .rename = pc_rename, .chmod = pc_chmod, .chown = pc_chown,
    .utimens = pc_utimens, .truncate = pc_truncate, .open = pc_open, .create = pc_create,
    .read = pc_read, .write = pc_write, .flush = pc_flush, .release = pc_release, .fsync = pc_fsync,
    .opendir = pc_opendir, .readdir = pc_readdir, .releasedir = pc_releasedir, .fsyncdir = pc_fsyncdir,
};

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s BACKING MOUNTPOINT STATEDIR [-f] [-s] [-o options]\n", argv[0]);
        return 2;
    }
    backing_root = realpath(argv[1], NULL);
    state_dir = realpath(argv[3], NULL);
    if (!backing_root || !state_dir) die("realpath");
    if (asprintf(&durable_dir, "%s/durable", state_dir) < 0) die("asprintf");
    if (mkdir(durable_dir, 0700) != 0 && errno != EEXIST) die(durable_dir);
    char *fifo;
    if (asprintf(&fifo, "%s/control", state_dir) < 0) die("asprintf");
    unlink(fifo);
    if (mkfifo(fifo, 0600) != 0) die(fifo);
    backing_fd = open(backing_root, O_RDONLY | O_DIRECTORY);
    if (backing_fd < 0) die(backing_root);
    struct stat st;
    fstat(backing_fd, &st);
    root_node = new_node(&st);
    snapshot(dup(backing_fd), root_node);
    pthread_t control;
    pthread_create(&control, NULL, control_loop, fifo);
    pthread_detach(control);
    /* FUSE sees: argv[0] MOUNTPOINT [options…] */
    char **fargv = xrealloc(NULL, (size_t)(argc + 2) * sizeof *fargv);
    int fargc = 0;
    fargv[fargc++] = argv[0];
    fargv[fargc++] = argv[2];
    for (int i = 4; i < argc; i++) fargv[fargc++] = argv[i];
    fargv[fargc] = NULL;
    return fuse_main(fargc, fargv, &operations, NULL);
}
