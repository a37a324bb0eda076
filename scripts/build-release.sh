#!/usr/bin/env bash
# Builds release programs the way they ship and prints the folder that holds them:
#
#   scripts/build-release.sh [PRODUCT...]    (no product: outpost and outpost-hub)
#   bin=$(scripts/build-release.sh outpost)  # then "$bin/outpost"
#   scripts/build-release.sh --bin-path      # the folder only, nothing built
#
# - The Swift runtime is linked in (`--static-swift-stdlib`), so the programs need only
#   Debian's libraries.
# - Every Swift and C module, the dependencies' included, is compiled with a section per
#   function. The agent's link (Package.swift, deploy/link/) can then lay out the code it runs
#   side by side, so that a running agent touches few pages of its executable
#   (docs/BENCHMARKS.md, "The code that runs, side by side").
# - SwiftPM does not know that the link reads deploy/link/: a program older than a file there
#   is linked again.
#
# - The build has a folder of its own, .build-release/, apart from the debug build's .build/:
#   a build holds its folder's lock, and so a release build and `swift test` on the debug
#   build never wait for each other (scripts/test.sh runs them side by side).
#
# The build's own output goes to stderr; stdout is the folder only. `swift build -c release`
# by hand makes working programs too, with more of their code in memory.
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(--scratch-path .build-release -c release --static-swift-stdlib
       -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections)
bin=$(swift build "${flags[@]}" --show-bin-path)
if [[ ${1:-} == --bin-path ]]; then echo "$bin"; exit 0; fi
products=("$@")
((${#products[@]})) || products=(outpost outpost-hub)
for product in "${products[@]}"; do
    if [[ -e $bin/$product && -n $(find deploy/link -newer "$bin/$product" -type f) ]]; then
        rm -f "$bin/$product"
    fi
    swift build "${flags[@]}" --product "$product" >&2
done
echo "$bin"
