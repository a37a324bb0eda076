#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
python3 scripts/check-manifest.py       # Package.swift declares exactly what each target imports
swift build --build-tests
# One test at a time: several tests measure real waits (settle, retries) that CPU-bound
# tests running beside them would starve on a 2-core machine.
log=$(mktemp -t outpost-swift-test.XXXXXX)
if ! swift test --skip-build --no-parallel 2>&1 | tee "$log"; then
    # The log is long; repeat what failed where the end of it is read.
    echo "---- failed tests and the issues they recorded ----" >&2
    grep -E '✘|recorded an issue|Expectation failed|Caught error' "$log" | grep -v '✘ Test run with' >&2 || true
    exit 1
fi
rm -f "$log"
scripts/test-deb.sh                   # the .deb packages: one release build, lintian, install/upgrade/roll back/purge here
scripts/reliability.sh --short        # kill -9, network, disk, hostile-input, hub-attack and power-cut campaign (docs/RELIABILITY.md)
python3 scripts/reliability/powercutfs_test.py --build-dir .build-reliability   # the power-cut filesystem's own model
scripts/fuzz.sh 20                    # each libFuzzer target for 20 s
