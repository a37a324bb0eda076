#!/usr/bin/env bash
# Outpost side by side with syslog-ng, both delivering over HTTP into one receiver on 127.0.0.1.
#
#   scripts/bench-peers.sh                         # builds the release agent, 3 alternated rounds
#   scripts/bench-peers.sh --skip-build --rounds 5 --idle 60
#   OUTPOST_BIN=/path/to/outpost scripts/bench-peers.sh   # measures that binary (no build)
#
# syslog-ng 3.38 from Debian (syslog-ng-core, syslog-ng-mod-http; installed by
# scripts/install-deps.sh --peers) reads FILES files of PER_FILE lines with a wildcard-file()
# source and posts them with http() (batch-lines(1000), workers(1)) through
# disk-buffer(reliable(yes)), under flow control. Outpost reads the same number of ORDERS05
# IDocs of the same sizes (each line is one of the IDocs with its newlines made spaces) from a
# drop directory and forwards them in batch mode with hub.compression: none. Both go to
# scripts/bench/receiver.py, which counts records and answers 200 as outpost-hub does. Each
# program runs in a fresh directory of its own (its syslog-ng persist file, control socket and
# disk buffer, or the agent's outbox); the system's syslog-ng service is never started or used.
# Then `xmllint --stream` and Outpost's ingest with the hub down on the same IDoc files
# (scripts/bench/driver.py's ceiling and ingest). Options go to scripts/bench/peers.py:
#   --files N (100) --per-file N (1000) --rounds N (3) --idle SECONDS (60) --ingest-runs N (3)
#   --no-ingest --keep --settle D (100ms) --syslog-workers N (1) --syslog-batch-lines N (1000)
#   --syslog-mem-buf-bytes N (10 MiB) --syslog-disk-buf-bytes N (1 GiB)
#   --syslog-source wildcard-file|files (one file() source per file; slower: polled until each appears)
#   --programs syslog-ng,outpost (the order within a round; one of them alone also works)
#   --tail SECONDS (0: the idle reading begins at the last record; the CPU of the seconds
#     before it printed apart) --halves (each round also Outpost's ingest with the hub
#     unreachable, then its forwarding of that outbox: time, CPU, bytes written, the machine's idle share)
# BENCH_DIR chooses the work directory (default: a new directory under ${TMPDIR:-/tmp}); it
# needs about 1.5 GB free with the default data set.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/bench/driver-run.sh
bench_options "$@"
scripts/install-deps.sh --peers
if [[ -n "${OUTPOST_BIN:-}" ]]; then
  outpost=$OUTPOST_BIN
else
  if ((bench_build)); then
    echo "building the release agent (scripts/build-release.sh outpost)"
    scripts/build-release.sh outpost >/dev/null
  fi
  outpost="$(scripts/build-release.sh --bin-path)/outpost"
fi
bench_workdir outpost-peers
bench_machine
echo "outpost: $outpost ($("$outpost" --version))"
echo "syslog-ng: $(syslog-ng --version | head -1), $(dpkg-query -W -f='${Package} ${Version}' syslog-ng-core)"
echo "work directory: $work"
bench_run python3 "$root/scripts/bench/peers.py" --outpost "$outpost" --workdir "$work" "${bench_args[@]}"
