#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test target.
#
# Two builds run in the background, as SCHED_IDLE (they get only the CPU the rest leaves, so the
# tests' real waits are not starved): the release build the .deb tests package, from the start
# of the debug build, then the fuzzing harnesses. The Swift tests and the reliability campaign
# wait on servers and timers much of the time, and the builds fill that time. The release
# build has its own build folder (scripts/build-release.sh), so it and `swift test` never wait
# for each other's lock.
# Each step prints how long it took, so a slow CI run says where its time went.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() {   # step NAME COMMAND...: runs COMMAND, then reports its duration
    local name=$1 t0=$SECONDS
    shift
    "$@"
    echo "== test.sh: $name took $((SECONDS - t0)) s ($((SECONDS - started)) s so far)"
}
logs=$(mktemp -d -t outpost-test-builds.XXXXXX)
declare -A background=()   # name → pid, which is also its process group
stop_background() {   # at exit: an early failure stops the builds still running
    local p
    for p in "${background[@]}"; do kill -- -"$p" 2>/dev/null || true; done
    rm -rf "$logs"
}
trap stop_background EXIT
in_background() {   # in_background NAME COMMAND...: starts COMMAND as SCHED_IDLE, in its own process group
    local name=$1
    shift
    set -m
    chrt --idle 0 ionice -c 3 "$@" >"$logs/$name.log" 2>&1 &
    set +m
    background[$name]=$!
}
finished() {   # finished NAME: waits for the background build NAME; its log's end if it failed
    local name=$1 status=0
    wait "${background[$name]}" || status=$?
    if ((status != 0)); then
        tail -60 "$logs/$name.log" >&2
        echo "test.sh: the background step $name failed (exit $status)" >&2
        exit 1
    fi
}
swift_tests() {
    # One test at a time: several tests measure real waits (settle, retries) that CPU-bound
    # tests running beside them would starve on a 2-core machine.
    local log
    log=$(mktemp -t outpost-swift-test.XXXXXX)
    if ! swift test --skip-build --no-parallel 2>&1 | tee "$log"; then
        # The log is long; repeat what failed where the end of it is read.
        echo "---- failed tests and the issues they recorded ----" >&2
        grep -E '✘|recorded an issue|Expectation failed|Caught error' "$log" | grep -v '✘ Test run with' >&2 || true
        exit 1
    fi
    rm -f "$log"
}
step "installing dependencies" scripts/install-deps.sh --test
step "the manifest check" python3 scripts/check-manifest.py   # Package.swift declares exactly what each target imports
in_background release scripts/build-release.sh      # also takes what CPU the debug build leaves
step "the debug build" swift build --build-tests
# The harnesses' build starts once the release build is over, which the .deb tests wait for.
in_background fuzz_build bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec scripts/fuzz.sh --build-only' _ "${background[release]}"
step "the Swift tests" swift_tests
step "the reliability campaign" scripts/reliability.sh --short   # kill -9, network, disk, hostile-input, hub-attack and power-cut campaign (docs/RELIABILITY.md)
step "the power-cut filesystem's model" python3 scripts/reliability/powercutfs_test.py --build-dir .build-reliability
step "the rest of the release build" finished release
step "the .deb tests" scripts/test-deb.sh --no-build           # lintian, install/upgrade/roll back/purge here
step "the rest of the fuzzing harnesses' build" finished fuzz_build
step "fuzzing" scripts/fuzz.sh --no-build 20                   # each libFuzzer target for 20 s
