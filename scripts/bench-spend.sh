#!/usr/bin/env bash
# GET /v1/spend over a million canonical documents: synthetic agents post realistic ORDERS05
# and INVOIC02 events to a release outpost-hub on 127.0.0.1 (PostgreSQL in a private cluster,
# then SQLite), the hub maps them in the background, then each grouping and filter is asked
# 20 times and timed. Figures and how to read them: docs/BENCHMARKS.md, "Canonical mapping".
#
#   scripts/bench-spend.sh [--skip-build] [spend_bench.py options: --storages postgres,sqlite
#                          --documents 1000000 --requests 20 --json FILE]
#
# Needs root (PostgreSQL runs as the postgres user in a private cluster); installs postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [[ "${1:-}" == "--skip-build" ]]; then build=0; shift; fi
scripts/install-deps.sh --test >/dev/null
if ((build)); then scripts/build-release.sh outpost-hub >/dev/null; fi
bin=${OUTPOST_BIN:-$(scripts/build-release.sh --bin-path)}
exec python3 scripts/bench/spend_bench.py --bin "$(cd "$bin" && pwd)" "$@"
