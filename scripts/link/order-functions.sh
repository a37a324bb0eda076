#!/usr/bin/env bash
# Regenerates a program's ordering file in deploy/link/, the order in which its release link
# lays out its code (LLD's --symbol-ordering-file, Package.swift): the functions the program
# runs, side by side, so that the pages of `.text` it touches are few and dense
# (docs/BENCHMARKS.md, "The code that runs, side by side").
#
#   scripts/link/order-functions.sh [outpost | outpost-hub]    (default: outpost)
#
# It builds the release program, runs it under valgrind's callgrind through a small benchmark
# workload and writes every function of the binary that ran, the costliest first:
#
# - outpost: the side-by-side benchmark's workload (scripts/bench/peers.py), 20 files of 500
#   ORDERS05 IDocs from a drop directory to the benchmark receiver, then 100 s quiet. The
#   profile is cut in two 25 s after the receiver has the last record (after the agent's first
#   quiet check), and the functions that ran while quiet (heartbeat, forwarder and watcher
#   checks) come first, so that what a quiet agent runs each minute is one block.
# - outpost-hub: the hub benchmark (scripts/bench/hub_bench.py), 4 synthetic agents posting
#   500-event batches for 20 s to a hub on SQLite, then to one on PostgreSQL (root, and
#   PostgreSQL installed: scripts/install-deps.sh --test).
#
# About three minutes after the build. Run it after changes that rename or add much of the
# code a program runs: names that no longer exist are skipped by the linker, so a stale file
# costs memory, never correctness (scripts/link/check-order.py, run by scripts/test-deb.sh,
# fails below 80% found).
set -euo pipefail
cd "$(dirname "$0")/../.."
product=${1:-outpost}
case $product in outpost|outpost-hub) ;; *) echo "order-functions.sh: no workload for '$product'" >&2; exit 1 ;; esac
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
bin=$(scripts/build-release.sh "$product")/$product
work=$(mktemp -d "${TMPDIR:-/tmp}/outpost-order.XXXXXX")
bench=""
cleanup() { [[ -n $bench ]] && kill "$bench" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# valgrind 3.19 (Debian 12) cannot read the DWARF 5 debug information; the symbol table is enough.
mkdir "$work/bin"
objcopy --strip-debug "$bin" "$work/$product.symbols"
cat > "$work/bin/$product" <<SH
#!/bin/sh
exec valgrind --tool=callgrind --demangle=no --dump-instr=no --dump-line=no --callgrind-out-file=$work/callgrind.%p "$work/$product.symbols" "\$@"
SH
chmod +x "$work/bin/$product"
out=deploy/link/$product.order

if [[ $product == outpost-hub ]]; then
  python3 scripts/bench/hub_bench.py --bin "$work/bin" --scenarios sqlite,postgres --agents 4 --lanes 1 --batch 500 \
    --seconds 20 > "$work/bench.log" 2>&1 || { cat "$work/bench.log" >&2; exit 1; }
  python3 scripts/link/function_order.py --binary "$work/$product.symbols" --out "$out" "$work"/callgrind.*
  exit 0
fi

records=10000
python3 scripts/bench/peers.py --outpost "$work/bin/outpost" --workdir "$work/run" --files 20 --per-file 500 \
  --rounds 1 --idle 100 --no-ingest --programs outpost --timeout 900 > "$work/bench.log" 2>&1 & bench=$!
running() { kill -0 "$bench" 2>/dev/null || { cat "$work/bench.log" >&2; exit 1; }; }
# The agent starts after the receiver's own load test, which the benchmark then resets.
agent=""
until [[ -n $agent ]]; do sleep 0.2; running; agent=$(pgrep -f "callgrind.*$work/outpost.symbols run" || true); done
received() { curl -s "http://127.0.0.1:$(cat "$work/run/receiver.port")/stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["records"])'; }
until [[ $(received 2>/dev/null) == "$records" ]]; do sleep 0.5; running; done
sleep 25
callgrind_control --dump=busy "$agent" >/dev/null   # writes callgrind.PID.1 and starts counting anew
wait "$bench" || { cat "$work/bench.log" >&2; exit 1; }
bench=""
python3 scripts/link/function_order.py --binary "$work/outpost.symbols" --out "$out" \
  --first "$work/callgrind.$agent" "$work/callgrind.$agent.1"
