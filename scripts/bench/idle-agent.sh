#!/usr/bin/env bash
# An idle agent's CPU and RSS: starts the benchmark receiver (receiver.py) and an agent with
# the benchmarks' configuration (one empty drop directory, settle 100ms, posting to the
# receiver), waits 10 s, then reads the agent's CPU time (user + system) over SECONDS_IDLE
# seconds and its RSS at the end. Everything on 127.0.0.1, in a temporary directory removed
# at exit.
#
#   scripts/bench/idle-agent.sh OUTPOST_BINARY [SECONDS_IDLE=120] [RSS_EVERY]
#
# With RSS_EVERY (seconds), it also prints the agent's RSS (total, anonymous, file-backed)
# that often, from its start: a quiet agent's RSS moves with its quiet checks and heartbeats.
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
every=${3:-0}
rss_line() { awk -v t="$1" '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2}
  END {printf "t=%3ds RSS %.1f MiB (anonymous %.1f, file-backed %.1f)\n", t, r / 1024, a / 1024, f / 1024}' "/proc/$agent/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
window=$seconds
if ((every > 0)); then
  elapsed=0
  while ((elapsed < 10)); do sleep "$every"; elapsed=$((elapsed + every)); rss_line "$elapsed"; done
  t0=$(ticks); start=$elapsed
  while ((elapsed < start + seconds)); do sleep "$every"; elapsed=$((elapsed + every)); rss_line "$elapsed"; done
  t1=$(ticks); window=$((elapsed - start))
else
  sleep 10
  t0=$(ticks); sleep "$seconds"; t1=$(ticks)
fi
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent/status")
hz=$(getconf CLK_TCK)
python3 -c "print(f'idle agent: {($t1 - $t0) / $hz * 60 / $window:.3f} CPU-s per minute over $window s, RSS {$rss / 1024:.1f} MiB')"
