#!/usr/bin/env bash
# An idle agent's CPU and RSS: starts the benchmark receiver (receiver.py) and an agent with
# the benchmarks' configuration (one empty drop directory, settle 100ms, posting to the
# receiver), waits 10 s, then reads the agent's CPU time (user + system) over SECONDS_IDLE
# seconds and its RSS at the end. Everything on 127.0.0.1, in a temporary directory removed
# at exit.
#
#   scripts/bench/idle-agent.sh OUTPOST_BINARY [SECONDS_IDLE=120]
set -euo pipefail
bin=$(realpath "$1"); seconds=${2:-120}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/outpost-idle.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/drop" "$work/archive" "$work/error"
echo token > "$work/token"; chmod 600 "$work/token"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$here/receiver.py" --port "$port" > "$work/receiver.log" 2>&1 & pids+=($!)
python3 - "$here" "$work" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import driver
work, port = sys.argv[2], sys.argv[3]
with open(f"{work}/agent.yaml", "w") as f:
    f.write(driver.agent_config_text(work, f"http://127.0.0.1:{port}/", f"{work}/token", "100ms", "info"))
PY
"$bin" run --config "$work/agent.yaml" > "$work/agent.log" 2>&1 & agent=$!; pids+=($agent)
sleep 10
ticks() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
t0=$(ticks); sleep "$seconds"; t1=$(ticks)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent/status")
hz=$(getconf CLK_TCK)
python3 -c "print(f'idle agent: {($t1 - $t0) / $hz * 60 / $seconds:.3f} CPU-s per minute over $seconds s, RSS {$rss / 1024:.1f} MiB')"
