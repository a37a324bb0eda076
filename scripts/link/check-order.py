#!/usr/bin/env python3
"""Checks that a release binary's code is laid out as its ordering file asks:

    check-order.py BINARY ORDER_FILE

Passes (exit 0) when:
- at least 80% of the file's names are code symbols of BINARY (else the file is stale:
  scripts/link/order-functions.sh writes it anew);
- at least 95% of those lie in the first third of `.text`, where LLD's
  `--symbol-ordering-file` puts them (linked without it, they spread over all of it);
- the private functions, which have no symbol to order them by, were gathered into
  `.text.unnamed` by deploy/link/sections.lds;
- `.rodata` is read-only (sections.lds moves the few writable inputs out of it), so that it
  is mapped with the code, not with the writable data.
BINARY needs its symbol table: the build's binary, not the packaged, stripped one."""
import re
import subprocess
import sys

from function_order import code_symbols


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip())
    binary, order_file = sys.argv[1:]
    sections = {}
    flags = {}
    for line in subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        m = re.search(r"\]\s+(\S+)\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([A-Za-z]*)\s", line)
        if m:
            sections[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
            flags[m.group(1)] = m.group(4)
    code = code_symbols(binary)
    names = [n for n in open(order_file).read().split("\n") if n]
    failures = []
    if ".text" not in sections or not code:
        raise SystemExit(f"{binary}: no .text or no symbol table (a stripped binary?)")
    start, size = sections[".text"]
    found = [code[n] for n in names if n in code]
    share_found = len(found) / len(names) if names else 0
    if share_found < 0.8:
        failures.append(f"only {len(found):,} of the {len(names):,} names are functions of the binary: "
                        "regenerate the file (scripts/link/order-functions.sh)")
    third = start + size // 3
    early = sum(1 for a in found if a < third)
    share_early = early / len(found) if found else 0
    if share_early < 0.95:
        failures.append(f"only {early:,} of {len(found):,} ordered functions are in the first third of .text: "
                        "linked without --symbol-ordering-file?")
    reach = (max(found) - start) / 2**20 if found else 0
    unnamed = sections.get(".text.unnamed")
    if not unnamed:
        failures.append("no .text.unnamed section: linked without deploy/link/sections.lds?")
    if "W" in flags.get(".rodata", "W"):
        failures.append(f".rodata is writable or missing (flags {flags.get('.rodata')!r}): "
                        "linked without deploy/link/sections.lds?")
    print(f"{binary}: {len(found):,} of {len(names):,} ordered functions found ({share_found:.0%}); "
          f"{share_early:.0%} of them in the first third of .text, the last at {reach:.1f} of {size / 2**20:.1f} MiB; "
          f"private functions gathered before them: {unnamed[1] / 1024 if unnamed else 0:,.0f} KiB; "
          f".rodata flags {flags.get('.rodata')}")
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
