#!/usr/bin/env python3
"""Self-test of powercutfs on a real mount: each check below sets up files through the mount,
cuts the power and compares what survived with what the model says (see powercutfs.c).

    powercutfs_test.py [--build-dir DIR]     (root, /dev/fuse, fusermount3, gcc, libfuse3-dev)

Prints one line per check; exits 1 when one fails (0 with SKIPPED where FUSE cannot be
mounted, like the campaign's power phase).
"""
import argparse
import hashlib
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import powercut  # noqa: E402

failures = []
checks = 0


def check(condition, message):
    global checks
    checks += 1
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write(path, data, offset=None, sync=False, mode="r+b"):
    with open(path, mode) as f:
        if offset is not None:
            f.seek(offset)
        f.write(data)
        f.flush()
        if sync:
            os.fsync(f.fileno())


def sync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tree_digest(root):
    """Names, types and contents of a tree, as one digest."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        h.update(os.path.relpath(dirpath, root).encode() + b"/\n")
        for name in sorted(filenames):
            h.update(name.encode() + b"\n" + (read(os.path.join(dirpath, name)) or b"") + b"\n")
    return h.hexdigest()


class Scratch:
    def __init__(self, binary, base):
        self.binary = binary
        self.base = base
        self.count = 0

    def host(self, setup=None):
        """A fresh host whose backing holds what `setup(backing)` puts there (all durable)."""
        self.count += 1
        host = powercut.Host(self.binary, os.path.join(self.base, f"h{self.count}"), f"test{self.count}")
        if setup:
            setup(host.backing)
        host.mount()
        return host


def basics(scratch):
    def setup(b):
        os.makedirs(os.path.join(b, "d"))
        os.makedirs(os.path.join(b, "e"))
        for name in ("a", "r", "s", "u", "x"):
            write(os.path.join(b, "d", name), name.encode() * 4, mode="wb")
    host = scratch.host(setup)
    d, e = host.path("d"), host.path("e")
    write(os.path.join(d, "a"), b"AAAA", offset=0, sync=True)            # synced
    write(os.path.join(d, "a"), b"BBBB", offset=4)                       # not synced
    write(os.path.join(d, "new-unsynced-dir"), b"data", sync=True, mode="wb")  # file synced, dir not
    os.rename(os.path.join(d, "r"), os.path.join(d, "r2"))               # rename, dir not synced
    os.unlink(os.path.join(d, "u"))                                      # unlink, dir not synced
    with open(os.path.join(d, "x"), "r+b") as f:
        f.truncate(1)                                                    # truncate, not synced
    status = host.status()
    check(int(status["data_pending"]) >= 2 and int(status["ns_pending"]) >= 3,
          f"pending operations are counted before the cut ({status})")
    # In a second directory, made durable: create (file synced) + rename + dir fsync.
    write(os.path.join(e, "t.tmp"), b"committed", sync=True, mode="wb")
    os.rename(os.path.join(e, "t.tmp"), os.path.join(e, "t"))
    sync_dir(e)
    # A cross-directory rename made durable by the target directory's fsync alone.
    os.rename(os.path.join(d, "s"), os.path.join(e, "s"))
    sync_dir(e)
    counts = host.cut("all")
    try:
        os.listdir(d)
        eio = False
    except OSError as error:
        eio = error.errno == 5
    check(eio, "after the cut the mount answers EIO")
    host.restart_after_cut()
    d, e = host.path("d"), host.path("e")
    check(int(counts["data_dropped"]) >= 2, f"the cut reports dropped data ({counts})")
    check(read(os.path.join(d, "a")) == b"AAAA", f"fsynced data survives, unsynced data does not: a = {read(os.path.join(d, 'a'))!r}")
    check(not os.path.exists(os.path.join(d, "new-unsynced-dir")),
          "a created file whose directory was not fsynced is gone (even with its data fsynced)")
    check(read(os.path.join(d, "r")) == b"rrrr" and not os.path.exists(os.path.join(d, "r2")),
          "a rename without directory fsync is undone")
    check(read(os.path.join(d, "u")) == b"uuuu", "an unlink without directory fsync is undone")
    check(read(os.path.join(d, "x")) == b"xxxx", "an unsynced truncate is undone")
    check(read(os.path.join(e, "t")) == b"committed" and not os.path.exists(os.path.join(e, "t.tmp")),
          "create + fsync + rename + directory fsync survives, the rename bringing the creation along")
    check(read(os.path.join(e, "s")) == b"ssss" and not os.path.exists(os.path.join(d, "s")),
          "a cross-directory rename made durable by one directory's fsync moves as a whole")
    # Durable state carries over: a second cut without new operations changes nothing.
    before = tree_digest(host.backing)
    host.cut("all")
    host.restart_after_cut()
    check(tree_digest(host.backing) == before, "a cut with nothing pending keeps the tree as it was")
    host.unmount()


TORN_FILES = 64
SIZE = 16384


def torn_setup(b):
    os.makedirs(os.path.join(b, "t"))
    for i in range(TORN_FILES):
        write(os.path.join(b, "t", f"f{i:02d}"), b"." * SIZE, mode="wb")


def torn_workload(host):
    """One pending 16 KiB write of 'X' over each file, plus pending creates and renames."""
    t = host.path("t")
    for i in range(TORN_FILES):
        write(os.path.join(t, f"f{i:02d}"), b"X" * SIZE, offset=0)
    for i in range(16):
        write(os.path.join(t, f"n{i:02d}.tmp"), b"n" * 100, mode="wb", sync=True)
        os.rename(os.path.join(t, f"n{i:02d}.tmp"), os.path.join(t, f"n{i:02d}"))


def classify(backing):
    kinds = {"dropped": 0, "whole": 0, "torn": 0, "bad": 0}
    t = os.path.join(backing, "t")
    for i in range(TORN_FILES):
        data = read(os.path.join(t, f"f{i:02d}"))
        k = len(data) - len(data.lstrip(b"X")) if data else 0
        if data is None or len(data) != SIZE or data[k:] != b"." * (SIZE - k):
            kinds["bad"] += 1
        elif k == 0:
            kinds["dropped"] += 1
        elif k == SIZE:
            kinds["whole"] += 1
        elif k % 512 == 0:
            kinds["torn"] += 1
        else:
            kinds["bad"] += 1
    names = sorted(os.listdir(t))
    renamed = [n for n in names if n.startswith("n") and not n.endswith(".tmp")]
    bad_names = [n for n in names if n.startswith("n") and read(os.path.join(t, n)) != b"n" * 100]
    return kinds, renamed, bad_names


def random_mode(scratch):
    results = []
    for seed in (11, 11, 12):
        host = scratch.host(torn_setup)
        torn_workload(host)
        counts = host.cut(f"random:{seed}")
        host.restart_after_cut()
        kinds, renamed, bad_names = classify(host.backing)
        results.append((seed, tree_digest(host.backing), kinds, renamed, counts))
        check(kinds["bad"] == 0 and not bad_names,
              f"random:{seed}: every file is the old data, the new write, or the new write torn at a 512-byte boundary ({kinds}, bad names {bad_names})")
        host.unmount()
    (s1, d1, k1, r1, c1), (s2, d2, k2, r2, c2), (s3, d3, k3, r3, c3) = results
    check(d1 == d2, "random:11 twice on the same pending state gives the same tree")
    check(d1 != d3, "random:12 gives another tree than random:11")
    check(k1["torn"] > 0 and int(c1["torn"]) == k1["torn"], f"torn writes occur and are reported (random:11: {k1}, reply {c1})")
    check(k1["whole"] > 0 and k1["dropped"] > 0, f"some writes are kept whole, some dropped (random:11: {k1})")
    check(0 < int(c1["ns_kept"]) and int(c1["ns_dropped"]) > 0, f"some namespace operations kept, some dropped ({c1})")
    # "all" on the same workload keeps none of it.
    host = scratch.host(torn_setup)
    torn_workload(host)
    host.cut("all")
    host.restart_after_cut()
    kinds, renamed, _ = classify(host.backing)
    check(kinds["dropped"] == TORN_FILES and not renamed, f"all: every pending write and rename dropped ({kinds}, {renamed})")
    host.unmount()


def sqlite_wal(scratch):
    """SQLite in WAL mode with synchronous=FULL on the mount: each commit that returned survives
    random cuts, and the database stays intact."""
    host = scratch.host()
    committed = 0
    for cycle, seed in enumerate((1, 2, 3, 4, 5)):
        db = sqlite3.connect(host.path("db.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)")
        if cycle == 0:
            sync_dir(host.mount_point)  # the database file's own entry (SQLite syncs the WAL's)
        for _ in range(40):
            db.execute("BEGIN")
            db.execute("INSERT INTO t (v) VALUES (?)", (os.urandom(3000),))
            db.execute("COMMIT")
            committed += 1
        db.execute("BEGIN")
        db.execute("INSERT INTO t (v) VALUES (?)", (b"uncommitted",))  # never committed
        status = host.status()
        host.cut(f"random:{seed}")
        try:
            db.close()
        except sqlite3.Error:
            pass
        host.restart_after_cut()
        db = sqlite3.connect(host.path("db.sqlite"))
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = db.execute("SELECT count(*) FROM t").fetchone()[0]
        db.close()
        check(integrity == "ok" and rows == committed,
              f"sqlite WAL, cut random:{seed} with {status['data_pending']} writes pending: integrity {integrity}, {rows} rows of {committed} committed")
    host.unmount()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default=os.path.join(tempfile.gettempdir(), "powercutfs-build"))
    args = parser.parse_args()
    reason = powercut.available()
    if reason or os.geteuid() != 0:
        print(f"powercutfs_test: SKIPPED, cannot run here: {reason or 'mounting FUSE needs root'}")
        return 0
    binary = powercut.build(args.build_dir)
    base = tempfile.mkdtemp(prefix="powercutfs-test-")
    scratch = Scratch(binary, base)
    try:
        basics(scratch)
        random_mode(scratch)
        sqlite_wal(scratch)
    finally:
        for i in range(1, scratch.count + 1):
            mnt = os.path.join(base, f"h{i}", "mnt")
            if powercut.is_mounted(mnt):
                os.system(f"fusermount3 -u -z '{mnt}'")
        shutil.rmtree(base, ignore_errors=True)
    print(f"powercutfs_test: {checks - len(failures)} of {checks} checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
