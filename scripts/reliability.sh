#!/usr/bin/env bash
# Outpost's reliability campaign against the real binaries (see docs/RELIABILITY.md).
#
#   scripts/reliability.sh [--short|--long|--power] [campaign.py options, e.g. --phases crash,network --seed 42]
#
# --short (default, what CI runs, a few minutes): 1,000 IDocs and 12 kill -9 in the crash phase,
#         30 power cuts in the power phase, 40 s of 2,000 hostile connections in the attack phase.
# --long: 10,000 IDocs and 110 kill -9, more traffic per fault mode, 200 power cuts,
#         240 s of 3,000 hostile connections.
# --power: only the power phase, 1,000 power cuts (--power-cuts N for another count).
# Uses the binaries in $OUTPOST_BIN (default: .build/debug, built if missing).
# The disk phase mounts a tmpfs and the power phase FUSE filesystems (powercutfs, compiled
# here with gcc and libfuse3-dev): both need root and are skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTPOST_BIN:-.build/debug}
if [[ ! -x $bin/outpost || ! -x $bin/outpost-hub ]]; then
    swift build --product outpost
    swift build --product outpost-hub
fi
mkdir -p .build-reliability
exec python3 scripts/reliability/campaign.py --bin "$(cd "$bin" && pwd)" --report .build-reliability/report.json "$@"
