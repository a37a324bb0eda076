#!/usr/bin/env python3
"""Where a running process's resident memory is: `rss_breakdown.py PID` (as root, or as the
process's user).

Prints the resident set by mapping (the executable, each shared library, anonymous memory),
then, for the executable, its resident pages by ELF section and the resident pages of `.text`
by Swift module (the module of the first symbol on each page; C and C++ symbols are grouped by
kind). Resident pages are read from /proc/PID/pagemap (present bit), sections from `readelf -SW`
and symbols from `nm -n`, so the executable needs its symbol table (a release build does; the
packaged, stripped one does not: point it at the unstripped build instead with --exe).

The kernel maps up to 16 neighbouring pages that are already in the page cache on every page
fault of a file mapping ("fault-around"), so a resident page of `.text` was not necessarily
executed: the module figures say where the resident pages are, not what ran.
"""
import argparse
import bisect
import collections
import os
import re
import struct
import subprocess

PAGE = os.sysconf("SC_PAGE_SIZE")


def mappings(pid):
    for line in open(f"/proc/{pid}/maps"):
        p = line.split(maxsplit=5)
        start, end = (int(x, 16) for x in p[0].split("-"))
        path = p[5].strip() if len(p) == 6 else ""
        yield start, end, p[1], int(p[2], 16), path


def resident_pages(pid, start, end):
    with open(f"/proc/{pid}/pagemap", "rb") as pm:
        pm.seek(start // PAGE * 8)
        raw = pm.read((end - start) // PAGE * 8)
    for i in range(len(raw) // 8):
        if struct.unpack_from("<Q", raw, i * 8)[0] >> 63:
            yield start + i * PAGE


def sections(exe):
    out = []
    for line in subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True, check=True).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m and int(m.group(2), 16):
            out.append((int(m.group(2), 16), int(m.group(2), 16) + int(m.group(3), 16), m.group(1)))
    return sorted(out)


def symbols(exe):
    out = []
    for line in subprocess.run(["nm", "-n", "--defined-only", exe], capture_output=True, text=True).stdout.splitlines():
        q = line.split(maxsplit=2)
        if len(q) == 3:
            out.append((int(q[0], 16), q[2]))
    return out


def module(name):
    m = re.match(r"^\$s(\d+)([A-Za-z_]\w*)", name)
    if m:
        return "Swift " + m.group(2)[: int(m.group(1))]
    if name.startswith("$s"):
        return "Swift standard library"
    if name.startswith("swift_") or name.startswith("_swift") or name.startswith("_ZN5swift"):
        return "Swift runtime"
    if name.startswith("_Z"):
        return "C++ (ICU, runtime)"
    if name.startswith("CCryptoBoringSSL") or name.startswith("CNIOBoringSSL"):
        return "BoringSSL"
    if name.startswith("_dispatch") or name.startswith("dispatch_"):
        return "libdispatch"
    if re.match(r"^(u|ucol|ures|ubrk|uloc|unorm|ucnv)\w*_", name):
        return "ICU"
    return "C"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pid", type=int)
    ap.add_argument("--exe", help="the executable with its symbol table (default: /proc/PID/exe)")
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    exe_path = os.path.realpath(f"/proc/{a.pid}/exe")
    exe = a.exe or exe_path
    maps = list(mappings(a.pid))

    resident_kib = [sum(1 for _ in resident_pages(a.pid, start, end)) * PAGE // 1024 for start, end, *_ in maps]
    by_mapping = collections.Counter()
    for (start, end, perm, off, path), kib in zip(maps, resident_kib):
        by_mapping[path if path.startswith("/") else (path or "[anonymous]")] += kib
    total = sum(by_mapping.values())
    print(f"resident KiB by mapping (total {total:,}):")
    for k, v in by_mapping.most_common(a.top):
        print(f"  {v:9,}  {k}")

    kinds = collections.Counter()
    for i, (start, end, perm, off, path) in enumerate(maps):
        if path or perm != "rw-p":
            continue
        before = maps[i - 1] if i > 0 else None
        after = maps[i + 1] if i + 1 < len(maps) else None
        if start % (64 << 20) == 0 and after and after[2] == "---p" and after[0] == end and not after[4]:
            kind = "allocator arenas of threads (64 MiB aligned)"
        elif (before and before[2] == "---p" and before[1] == start and not before[4]
              and before[1] - before[0] <= 64 << 10):
            kind = "thread stacks (a guard page below)"
        else:
            kind = "other anonymous memory (large blocks, the main arena's spill)"
        kinds[kind] += resident_kib[i]
    print("resident KiB of [anonymous] by kind:")
    for k, v in kinds.most_common():
        print(f"  {v:9,}  {k}")

    own = [m for m in maps if m[4] == exe_path]
    if not own:
        return
    bias = min(start - off for start, _, _, off, _ in own)
    secs = sections(exe)
    starts = [s[0] for s in secs]
    syms = symbols(exe)
    addrs = [s[0] for s in syms]
    by_section = collections.Counter()
    by_module = collections.Counter()
    for start, end, perm, off, path in own:
        for page in resident_pages(a.pid, start, end):
            v = page - bias
            i = bisect.bisect_right(starts, v) - 1
            name = secs[i][2] if i >= 0 and v < secs[i][1] else "(between sections)"
            by_section[name] += PAGE // 1024
            if name == ".text" and syms:
                j = bisect.bisect_right(addrs, v) - 1
                by_module[module(syms[j][1]) if j >= 0 else "?"] += PAGE // 1024
    print(f"resident KiB of {os.path.basename(exe_path)} by section:")
    for k, v in by_section.most_common(a.top):
        print(f"  {v:9,}  {k}")
    if by_module:
        print("resident KiB of .text by module (first symbol on the page):")
        for k, v in by_module.most_common(a.top):
            print(f"  {v:9,}  {k}")


if __name__ == "__main__":
    main()
