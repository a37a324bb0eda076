#!/usr/bin/env bash
# Outpost's reliability campaign against the real binaries (see docs/RELIABILITY.md).
#
#   scripts/reliability.sh [--short|--long] [campaign.py options, e.g. --phases crash,network --seed 42]
#
# --short (default, what CI runs, a few minutes): 1,000 IDocs and 12 kill -9 in the crash phase.
# --long: 10,000 IDocs and 110 kill -9, more traffic per fault mode.
# Uses the binaries in $OUTPOST_BIN (default: .build/debug, built if missing).
# The disk phase mounts a tmpfs and needs root; it is skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTPOST_BIN:-.build/debug}
if [[ ! -x $bin/outpost || ! -x $bin/outpost-hub ]]; then
    swift build --product outpost
    swift build --product outpost-hub
fi
mkdir -p .build-reliability
exec python3 scripts/reliability/campaign.py --bin "$(cd "$bin" && pwd)" --report .build-reliability/report.json "$@"
