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
build=1
keep=0
args=()
for a in "$@"; do
  case "$a" in
    --skip-build) build=0 ;;
    --keep) keep=1; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
scripts/install-deps.sh
if ((build)); then
  echo "building release binaries (swift build -c release)"
  swift build -c release --product outpost >/dev/null
  swift build -c release --product outpost-hub >/dev/null
fi
bin=$(swift build -c release --show-bin-path)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/outpost-bench.XXXXXX")}
mkdir -p "$work"
driver=""
cleanup() {
  set +e
  # The driver stops what it started; this catches anything left if it was killed hard.
  if [[ -n "$driver" ]]; then
    kill -TERM "$driver" 2>/dev/null
    wait "$driver" 2>/dev/null
  fi
  if [[ -f "$work/pids" ]]; then
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done < "$work/pids"
  fi
  ((keep)) || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM"
echo "work directory: $work"
python3 "$root/scripts/bench/driver.py" --bin "$bin" --workdir "$work" "${args[@]}" &
driver=$!
status=0
wait "$driver" || status=$?
driver=""
exit $status
