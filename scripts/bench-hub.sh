#!/usr/bin/env bash
# The hub benchmark: synthetic agents posting batches to real outpost-hub processes on
# 127.0.0.1 — SQLite (durable answers), PostgreSQL with one replica, with two replicas.
# Prints events/s stored, batch latency p50/p99, answers by status, each hub's peak RSS and
# CPU. Figures and how to read them: docs/BENCHMARKS.md, "Hub" and "Canonical mapping".
#
#   scripts/bench-hub.sh [--skip-build] [hub_bench.py options: --agents 8 --lanes 2 --batch 500
#                        --seconds 20 --rounds 3 --scenarios sqlite,postgres,postgres2 --rate N
#                        --mix orders05,invoic02 --mapping on|off|both]
#
# Needs root (PostgreSQL runs as the postgres user in a private cluster); installs postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [[ "${1:-}" == "--skip-build" ]]; then build=0; shift; fi
scripts/install-deps.sh --test >/dev/null
if ((build)); then scripts/build-release.sh outpost-hub >/dev/null; fi
bin=${OUTPOST_BIN:-$(scripts/build-release.sh --bin-path)}
exec python3 scripts/bench/hub_bench.py --bin "$(cd "$bin" && pwd)" "$@"
