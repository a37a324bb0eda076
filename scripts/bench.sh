#!/usr/bin/env bash
# Outpost benchmark: ingest and end-to-end throughput, agent peak RSS, and the parsing ceiling
# (`xmllint --stream`) on generated ORDERS05 files. Everything runs on 127.0.0.1.
#
#   scripts/bench.sh                      # 100 files x 200 IDocs (~2.3 KB each), 3 runs each, + one 1 GiB file
#   scripts/bench.sh --files 500          # more data per run
#   scripts/bench.sh --big-bytes 0        # skip the 1 GiB file
#   scripts/bench.sh --only ingest,e2e    # pick measurements: ceiling, ingest, e2e, big
#   scripts/bench.sh --skip-build --keep  # reuse the release build; keep the work directory
# Other options go to scripts/bench/driver.py (--runs, --big-runs, --settle, --per-file, ...).
# BENCH_DIR chooses the work directory (default: a new directory under ${TMPDIR:-/tmp}); it needs
# about 4 GB free for the 1 GiB file (the file, plus the outbox database and its WAL).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/bench/driver-run.sh
bench_options "$@"
scripts/install-deps.sh
if ((bench_build)); then
  echo "building release binaries (scripts/build-release.sh)"
  scripts/build-release.sh outpost outpost-hub >/dev/null
fi
bin=$(scripts/build-release.sh --bin-path)
bench_workdir outpost-bench
bench_machine
echo "work directory: $work"
bench_run python3 "$root/scripts/bench/driver.py" --bin "$bin" --workdir "$work" "${bench_args[@]}"
