#!/usr/bin/env bash
# Builds the libFuzzer harnesses in fuzz/ (swiftc -sanitize=fuzzer,address, module sources
# compiled directly, no SwiftPM) and runs each one, bounded.
#
#   scripts/fuzz.sh                 # 20 s per target (the CI form)
#   scripts/fuzz.sh 600             # 600 s per target
#   scripts/fuzz.sh runs=1000000    # exactly that many executions per target
#   FUZZ_TARGETS="idoc-xml config" scripts/fuzz.sh 60
#   scripts/fuzz.sh --build-only    # build the harnesses, run nothing
#   scripts/fuzz.sh --no-build 20   # run the harnesses built before
#
# The targets run side by side, as many at a time as the machine has cores.
# Prints one summary line per target (executions, crashes) and exits 1 if any target crashed;
# the crashing input is kept in .build-fuzz/artifacts/<target>/ — add it to the target's
# regression test. Work files live in .build-fuzz/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_stage=1; run_stage=1
case ${1:-} in
    --build-only) run_stage=0; shift ;;
    --no-build) build_stage=0; shift ;;
esac
budget=${1:-20}
out=$root/.build-fuzz
mkdir -p "$out/obj" "$out/bin" "$out/logs"
targets=${FUZZ_TARGETS:-"idoc-xml idoc-flat config batch-decoder mapping amqp-fields"}

if ! pkg-config --exists libxml-2.0; then
    echo "fuzz.sh: libxml2-dev is missing (apt-get install -y libxml2-dev pkg-config)" >&2
    exit 1
fi
xml_cflags=$(pkg-config --cflags libxml-2.0)

# swift_module NAME FLAGS… -- SOURCES…: one instrumented Swift module as an object + .swiftmodule,
# compiled once per run of this script however many targets link it.
declare -A compiled=()
swift_module() {
    local name=$1; shift
    if [[ -n ${compiled[$name]:-} ]]; then return 0; fi
    local flags=()
    while [[ $1 != -- ]]; do flags+=("$1"); shift; done
    shift
    # A module that fails to compile leaves no object behind, so the link that needs it fails
    # too (the build runs as an `if` condition, where `set -e` does not stop it).
    rm -f "$out/obj/$name.o" "$out/obj/$name.swiftmodule"
    swiftc -parse-as-library -wmo -O -g -sanitize=fuzzer,address -module-name "$name" \
        -emit-module -emit-module-path "$out/obj/$name.swiftmodule" -emit-object -o "$out/obj/$name.o" \
        -I "$out/obj" "${flags[@]}" "$@" || return 1
    compiled[$name]=1
}

yams_dir() {
    if [[ ! -d .build/checkouts/Yams ]]; then swift package resolve >/dev/null; fi
    echo "$root/.build/checkouts/Yams/Sources"
}

build() {
    local target=$1
    local bin=$out/bin/fuzz-$target
    case $target in
    idoc-xml)
        swift_module EventModel -- Sources/EventModel/*.swift
        local xml=(-I Adapters/CLibXML2 $(for f in $xml_cflags; do printf -- '-Xcc %s ' "$f"; done))
        swift_module IDocXML -enable-testing "${xml[@]}" -- Adapters/IDocXML/*.swift
        swiftc -parse-as-library -O -g -sanitize=fuzzer,address -I "$out/obj" "${xml[@]}" fuzz/IDocXMLFuzz.swift \
            "$out/obj/EventModel.o" "$out/obj/IDocXML.o" -lxml2 -o "$bin" ;;
    idoc-flat)
        swift_module EventModel -- Sources/EventModel/*.swift
        swift_module SpendMapping -- Sources/SpendMapping/*.swift
        swift_module IDocFlat -- Adapters/IDocFlat/*.swift
        swiftc -parse-as-library -O -g -sanitize=fuzzer,address -I "$out/obj" fuzz/IDocFlatFuzz.swift \
            "$out/obj/EventModel.o" "$out/obj/SpendMapping.o" "$out/obj/IDocFlat.o" -o "$bin" ;;
    mapping)
        # The hub's mapping path as production runs it: a stored IDoc read into segments (XML by
        # libxml2, flat by the layouts' character offsets) and mapped by the built-in profiles.
        swift_module EventModel -- Sources/EventModel/*.swift
        swift_module SpendMapping -- Sources/SpendMapping/*.swift
        swift_module IDocFlat -- Adapters/IDocFlat/*.swift
        local xml=(-I Adapters/CLibXML2 $(for f in $xml_cflags; do printf -- '-Xcc %s ' "$f"; done))
        swift_module IDocXML -enable-testing "${xml[@]}" -- Adapters/IDocXML/*.swift
        swiftc -parse-as-library -O -g -sanitize=fuzzer,address -I "$out/obj" "${xml[@]}" fuzz/MappingFuzz.swift \
            "$out/obj/EventModel.o" "$out/obj/SpendMapping.o" "$out/obj/IDocFlat.o" "$out/obj/IDocXML.o" -lxml2 -o "$bin" ;;
    config)
        local yams; yams=$(yams_dir)
        for c in "$yams"/CYaml/src/*.c; do
            clang -c -O1 -g -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_STATIC -I "$yams/CYaml/include" \
                "$c" -o "$out/obj/cyaml-$(basename "$c" .c).o"
        done
        swift_module Yams -D SWIFT_PACKAGE -Xcc -DYAML_DECLARE_STATIC -I "$yams/CYaml/include" -- "$yams"/Yams/*.swift
        swift_module EventModel -- Sources/EventModel/*.swift
        swift_module SpendMapping -- Sources/SpendMapping/*.swift
        swift_module OutpostConfig -I "$yams/CYaml/include" -- Sources/OutpostConfig/*.swift
        swiftc -parse-as-library -O -g -sanitize=fuzzer,address -I "$out/obj" -I "$yams/CYaml/include" fuzz/ConfigFuzz.swift \
            "$out/obj/OutpostConfig.o" "$out/obj/SpendMapping.o" "$out/obj/EventModel.o" "$out/obj/Yams.o" "$out"/obj/cyaml-*.o -o "$bin" ;;
    batch-decoder)
        swiftc -parse-as-library -O -g -sanitize=fuzzer,address -module-name BatchDecoderFuzz fuzz/BatchDecoderFuzz.swift \
            Sources/HubServer/{CloudEventBatchDecoder,BatchDecodingError,DecodedCloudEvent,JSONByteScanner}.swift -o "$bin" ;;
    amqp-fields)
        # The AMQP sink's reader of stored events, compiled with the harness as one module.
        swiftc -parse-as-library -O -g -sanitize=fuzzer,address -module-name AMQPFieldsFuzz fuzz/AMQPFieldsFuzz.swift \
            Adapters/AMQPSink/CloudEventFields.swift -o "$bin" ;;
    *) echo "fuzz.sh: unknown target $target" >&2; exit 1 ;;
    esac
}

# Seeds: the checked-in corpus plus, for the codecs, the public samples when present.
seed() {
    local target=$1 corpus=$out/corpus/$target
    mkdir -p "$corpus"
    cp -n fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
    case $target in
    idoc-xml) cp -n ../shared/samples/public/*.xml "$corpus"/ 2>/dev/null || true ;;
    idoc-flat) cp -n ../shared/samples/public/*.txt "$corpus"/ 2>/dev/null || true ;;
    mapping) cp -n ../shared/samples/public/* samples/*.xml samples/*.txt "$corpus"/ 2>/dev/null || true ;;
    config) cp -n deploy/examples/*.yaml "$corpus"/ 2>/dev/null || true ;;
    esac
    echo "$corpus"
}

if [[ $budget == runs=* ]]; then
    limit=(-runs="${budget#runs=}"); wall=$(( ${budget#runs=} / 500 + 600 ))
else
    limit=(-max_total_time="$budget"); wall=$(( budget + 120 ))
fi

# run_target TARGET: one bounded fuzzing run; prints its summary line (and the log's end on a
# crash) once it is over, and exits 1 when the target crashed.
run_target() {
    local target=$1 corpus log status execs crashes slow dict=()
    corpus=$(seed "$target")
    mkdir -p "$out/artifacts/$target"
    log=$out/logs/$target.log
    [[ -f fuzz/$target.dict ]] && dict=(-dict="fuzz/$target.dict")
    set +e
    ASAN_OPTIONS=detect_leaks=0 timeout --signal=KILL "$wall" "$out/bin/fuzz-$target" "${limit[@]}" "${dict[@]}" \
        -rss_limit_mb=2048 -timeout=10 -max_len=16384 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$target/" "$corpus" >"$log" 2>&1
    status=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    # crash-, leak-, timeout- and oom- artifacts are failures; a slow-unit- one only says an input
    # took over 10 s once (on a loaded machine that is the machine), so it is counted apart.
    crashes=$(find "$out/artifacts/$target" -type f ! -name 'slow-unit-*' | wc -l)
    slow=$(find "$out/artifacts/$target" -type f -name 'slow-unit-*' | wc -l)
    {
        echo "fuzz-$target: status=$status executions=$execs crashes=$crashes slow_units=$slow corpus=$(ls "$corpus" | wc -l)"
        if [[ $status -ne 0 || $crashes -ne 0 ]]; then tail -40 "$log"; fi
    } >"$out/logs/$target.summary"
    [[ $status -eq 0 && $crashes -eq 0 ]]
}

if ((build_stage)); then
    for target in $targets; do
        echo "== building fuzz-$target"
        if ! build "$target" >"$out/logs/$target.build.log" 2>&1; then
            grep -v 'ld.gold: warning' "$out/logs/$target.build.log" | tail -40
            echo "fuzz.sh: building fuzz-$target failed (log: $out/logs/$target.build.log)" >&2
            exit 1
        fi
    done
fi
((run_stage)) || exit 0

# Each run is single-threaded: as many at a time as the machine has cores.
parallel=$(nproc)
failed=0
running=()   # target:pid of the runs in flight, oldest first
finish_one() {   # waits for the oldest run in flight and prints its summary
    local target=${running[0]%%:*} pid=${running[0]#*:}
    running=("${running[@]:1}")
    wait "$pid" || failed=1
    cat "$out/logs/$target.summary"
}
for target in $targets; do
    [[ -x $out/bin/fuzz-$target ]] || { echo "fuzz.sh: $out/bin/fuzz-$target is not built (run without --no-build)" >&2; exit 1; }
    ((${#running[@]} < parallel)) || finish_one
    echo "== running fuzz-$target (${limit[*]})"
    run_target "$target" &
    running+=("$target:$!")
done
while ((${#running[@]})); do finish_one; done
exit $failed
