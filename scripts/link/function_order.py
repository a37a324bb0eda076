#!/usr/bin/env python3
"""Writes a linker symbol-ordering file from callgrind profiles:

    function_order.py --binary EXE --out FILE [--first PROFILE]... PROFILE...

Every function a profile saw run (`fn=` and `cfn=` records) that is a code symbol of EXE is
written, one mangled name per line, so that LLD's `--symbol-ordering-file` puts the code that
runs side by side at the start of `.text`. The functions of the `--first` profiles (a quiet
agent's) come first, so that what runs while the agent idles is a small block of its own;
then the others; each group the costliest first.
Names that are not code in EXE (shared libraries, the loader) are left out. The profiles
must have been written with `--demangle=no`: the linker matches mangled names."""
import argparse
import collections
import re
import subprocess
import sys

RECORD = re.compile(r"(c?fn)=\((\d+)\)(?: (.*))?$")


def costs(paths):
    """Self cost of every function named in the profiles (0 for one seen only as a callee)."""
    total = collections.Counter()
    for path in paths:
        names = {}  # callgrind compresses a name to "(id)" after its first use, per file
        current = None
        after_calls = False
        with open(path, errors="replace") as f:
            for line in f:
                m = RECORD.match(line.rstrip("\n"))
                if m:
                    kind, ident, name = m.groups()
                    if name:
                        names[ident] = name
                    if ident not in names:
                        raise SystemExit(f"{path}: {kind}=({ident}) used before it was named")
                    total[names[ident]] += 0
                    if kind == "fn":
                        current = names[ident]
                    continue
                if line.startswith("calls="):
                    after_calls = True  # the next cost line is the call's inclusive cost
                    continue
                if line[:1].isdigit() or line[:1] in "+-*":
                    if after_calls:
                        after_calls = False
                        continue
                    fields = line.split()
                    if current is not None and len(fields) >= 2:
                        total[current] += int(fields[1])
    return total


def code_symbols(binary):
    """The binary's code symbols, name → address (the first, for a local name defined twice)."""
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    code = {}
    for line in out.splitlines():
        fields = line.split(" ", 2)
        if len(fields) == 3 and fields[1] in "tTwW":
            code.setdefault(fields[2], int(fields[0], 16))
    return code


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True, help="the profiled executable, with its symbol table")
    ap.add_argument("--out", required=True)
    ap.add_argument("--first", action="append", default=[], help="a profile whose functions come first (repeatable)")
    ap.add_argument("profiles", nargs="+")
    a = ap.parse_args()
    first = costs(a.first)
    seen = costs(a.profiles + a.first)
    code = code_symbols(a.binary)
    ordered = sorted((n for n in seen if n in code), key=lambda n: (n not in first, -(first[n] if n in first else seen[n]), n))
    if not ordered:
        raise SystemExit("no function of the binary in the profiles: was it profiled with --demangle=no?")
    with open(a.out, "w") as f:
        f.writelines(n + "\n" for n in ordered)
    leading = f" ({sum(1 for n in first if n in code):,} of them first)" if a.first else ""
    print(f"{len(seen):,} functions ran, {len(ordered):,} of them in {a.binary}{leading}: written to {a.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
