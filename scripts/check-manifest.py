#!/usr/bin/env python3
"""Checks that Package.swift declares exactly what each target imports: every module a
target's Swift files import is among its dependencies, and every dependency is imported.

Reads the manifest through `swift package dump-package` (the package manager's own reading
of it). Exits 1 listing each difference."""
import json
import os
import re
import subprocess
import sys

# Modules of the toolchain and the platform: never declared.
PLATFORM = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "FoundationXML", "Glibc", "Musl",
    "Darwin", "Android", "WinSDK", "Dispatch", "Synchronization", "Testing", "XCTest", "_Concurrency", "Swift", "os",
}
IMPORT = re.compile(
    r"^\s*(?:@[\w]+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?"
    r"import\s+(?:(?:struct|class|enum|protocol|typealias|func|var|let)\s+)?([A-Za-z_][A-Za-z0-9_]*)",
    re.M)


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    manifest = json.loads(subprocess.run(
        ["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True, text=True).stdout)
    problems = []
    for target in manifest["targets"]:
        if target["type"] in ("system", "binary", "plugin"):
            continue
        path = os.path.join(root, target.get("path") or "")
        declared = set()
        for dependency in target["dependencies"]:
            for kind in ("byName", "target", "product"):
                if kind in dependency:
                    declared.add(dependency[kind][0])
        imported = set()
        for directory, _, files in os.walk(path):
            for name in files:
                if name.endswith(".swift"):
                    with open(os.path.join(directory, name), encoding="utf-8") as source:
                        imported.update(IMPORT.findall(source.read()))
        imported -= PLATFORM
        imported.discard(target["name"])
        for module in sorted(imported - declared):
            problems.append(f"{target['name']}: imports {module}, which its dependencies do not declare")
        for module in sorted(declared - imported):
            problems.append(f"{target['name']}: declares {module}, which none of its files imports")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-manifest: {len(problems)} difference(s) between Package.swift and the imports", file=sys.stderr)
        return 1
    print(f"check-manifest: {len(manifest['targets'])} targets declare exactly what they import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
