#!/usr/bin/env bash
# Regenerates deploy/link/outpost.order, the order in which the release link lays out the
# agent's code (LLD's --symbol-ordering-file, Package.swift): the functions the agent runs,
# side by side, so that the pages of `.text` a running agent touches are few and dense
# (docs/BENCHMARKS.md, "The code that runs, side by side").
#
# It builds the release agent and runs it under valgrind's callgrind through the side-by-side
# benchmark's workload, small: 20 files of 500 ORDERS05 IDocs from a drop directory to the
# benchmark receiver, then 100 s quiet. The profile is cut in two 25 s after the receiver has
# the last record (after the agent's first quiet check): the functions that ran while quiet
# (heartbeat, forwarder and watcher checks) come first, then every other function of the
# binary that ran, each group the costliest first. Takes about three minutes after the build.
# Run it after changes that rename or add much of the code the agent runs; names that no
# longer exist are skipped by the linker, so a stale file costs memory, never correctness
# (scripts/link/check-order.py, run by scripts/test-deb.sh, fails below 80% found).
#
#   scripts/link/order-functions.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
bin=$(scripts/build-release.sh outpost)/outpost
work=$(mktemp -d "${TMPDIR:-/tmp}/outpost-order.XXXXXX")
bench=""
cleanup() { [[ -n $bench ]] && kill "$bench" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# valgrind 3.19 (Debian 12) cannot read the DWARF 5 debug information; the symbol table is enough.
objcopy --strip-debug "$bin" "$work/outpost"
cat > "$work/outpost-profiled" <<SH
#!/bin/sh
exec valgrind --tool=callgrind --demangle=no --dump-instr=no --dump-line=no --callgrind-out-file=$work/callgrind.%p "$work/outpost" "\$@"
SH
chmod +x "$work/outpost-profiled"
records=10000
python3 scripts/bench/peers.py --outpost "$work/outpost-profiled" --workdir "$work/run" --files 20 --per-file 500 \
  --rounds 1 --idle 100 --no-ingest --programs outpost --timeout 900 > "$work/bench.log" 2>&1 & bench=$!
running() { kill -0 "$bench" 2>/dev/null || { cat "$work/bench.log" >&2; exit 1; }; }
# The agent starts after the receiver's own load test, which the benchmark then resets.
agent=""
until [[ -n $agent ]]; do sleep 0.2; running; agent=$(pgrep -f "callgrind.*$work/outpost run" || true); done
received() { curl -s "http://127.0.0.1:$(cat "$work/run/receiver.port")/stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["records"])'; }
until [[ $(received 2>/dev/null) == "$records" ]]; do sleep 0.5; running; done
sleep 25
callgrind_control --dump=busy "$agent" >/dev/null   # writes callgrind.PID.1 and starts counting anew
wait "$bench" || { cat "$work/bench.log" >&2; exit 1; }
bench=""
python3 scripts/link/function_order.py --binary "$work/outpost" --out deploy/link/outpost.order \
  --first "$work/callgrind.$agent" "$work/callgrind.$agent.1"
