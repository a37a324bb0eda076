#!/usr/bin/env bash
# Tests Outpost's Debian packages on this machine (as root; scripts/test.sh runs it):
#
#  1. builds them once with scripts/package-deb.sh (one release build), plus a copy under a
#     higher version from the same binaries for the upgrade;
#  2. checks the programs' code layout (scripts/link/check-order.py) and the packaged binaries:
#     stripped, debug symbols in the -dbgsym packages under the build id, every DT_NEEDED
#     resolving to a library a Debian package installed and none to the Swift toolchain's
#     directory;
#  3. runs lintian on the four packages: no error;
#  4. installs them with dpkg -i and checks files, owners, modes, the system users, the
#     unit's enablement, and `--version` / `check-config` / a short `outpost run` as the
#     service users with the toolchain's library directory hidden (a mount namespace);
#  5. upgrades over them, rolls back (the older .deb) and reinstalls: the edited conffiles and
#     the outbox are kept;
#  6. removes them (configuration, users and data stay) and purges them (all gone).
#
#   scripts/test-deb.sh [--no-build]   (--no-build: package the release binaries already built)
#
# Outside CI a missing tool or root skips it with the reason; under CI (CI set) that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build_flag=()
[[ ${1:-} == --no-build ]] && build_flag=(--no-build)

passed=0; failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() {  # check DESCRIPTION COMMAND...: passes when COMMAND exits 0
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}
cannot_run() {
    if [[ -n ${CI:-} ]]; then echo "test-deb: FAIL: cannot run: $*" >&2; echo "0 passed, 1 failed"; exit 1; fi
    echo "test-deb: skipped: $*"; exit 0
}

[[ $(id -u) -eq 0 ]] || cannot_run "installs packages with dpkg: run as root"
for tool in dpkg-deb dpkg-shlibdeps lintian deb-systemd-helper adduser readelf objcopy unshare setpriv swift; do
    command -v "$tool" >/dev/null || cannot_run "$tool is missing (scripts/install-deps.sh --test installs it)"
done
for pkg in outpost outpost-hub; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -qv "not-installed"; then
        cannot_run "the $pkg package is already installed here; this test installs and purges it"
    fi
    if getent passwd "$pkg" >/dev/null; then
        cannot_run "a user $pkg exists; purging the package would delete it"
    fi
done

work=$(mktemp -d /tmp/outpost-deb.XXXXXX)
chmod 0755 "$work"
agent_pid=""
cleanup() {
    if [[ -n $agent_pid ]]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
    dpkg --purge outpost outpost-hub >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/empty"
# The toolchain's runtime libraries: what the packaged binaries must not need.
toolchain_lib=$(cd "$(dirname "$(readlink -f "$(command -v swift)")")/../lib" && pwd)
[[ -e $toolchain_lib/swift/linux/libswiftCore.so ]] || cannot_run "no libswiftCore.so under $toolchain_lib"
echo "toolchain libraries: $toolchain_lib"

# The Debian package that installed the file at $1 (dpkg knows some under /usr, some not).
debian_owner() {
    local real owner candidate
    real=$(readlink -f "$1")
    for candidate in "$1" "$real" "/usr$1" "/usr$real" "${1#/usr}" "${real#/usr}"; do
        owner=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) || true
        [[ -n $owner ]] && { echo "$owner"; return 0; }
    done
    return 1
}

# 1. Build once; the upgrade package is the same binaries under a higher version.
scripts/package-deb.sh --fast --out "$work/v1" "${build_flag[@]}"
version=$(dpkg-deb -f "$work"/v1/outpost_*.deb Version)
upgrade_version="$version+upgrade1"
scripts/package-deb.sh --fast --no-build --out "$work/v2" --version "$upgrade_version" >/dev/null
arch=$(dpkg --print-architecture)
deb() { echo "$work/$1/${2}_$3_${arch}.deb"; }
for pkg in outpost outpost-hub; do
    for v in v1 v2; do
        ver=$version; [[ $v == v2 ]] && ver=$upgrade_version
        check "$v: ${pkg} and ${pkg}-dbgsym $ver built" test -s "$(deb "$v" "$pkg" "$ver")" -a -s "$(deb "$v" "$pkg-dbgsym" "$ver")"
    done
done

# The programs' code laid out as deploy/link/ asks. Read from the build's binaries: the
# packaged ones have no symbol table.
release_bin=$(scripts/build-release.sh --bin-path)
for pkg in outpost outpost-hub; do
    if layout=$(python3 scripts/link/check-order.py "$release_bin/$pkg" "deploy/link/$pkg.order" 2>&1); then
        pass "$pkg: code laid out by deploy/link/$pkg.order: ${layout#*: }"
    else
        fail "$pkg: code not laid out by deploy/link/$pkg.order: ${layout//$'\n'/ }"
    fi
done

# 2. The packaged binaries.
for pkg in outpost outpost-hub; do
    x=$work/x/$pkg; mkdir -p "$x"
    dpkg-deb -x "$(deb v1 "$pkg" "$version")" "$x"
    dpkg-deb -x "$(deb v1 "$pkg-dbgsym" "$version")" "$x"
    binary=$x/usr/bin/$pkg
    sections=$(readelf -S -W "$binary")
    check "$pkg: stripped (no .symtab, no .debug_*)" bash -c '! grep -Eq "\] \.(symtab|debug_)" <<<"$1"' _ "$sections"
    check "$pkg: .gnu_debuglink names $pkg.debug" bash -c 'readelf -p .gnu_debuglink "$1" | grep -q "$2.debug"' _ "$binary" "$pkg"
    build_id=$(readelf -n "$binary" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
    debug_file=$x/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug
    check "$pkg-dbgsym: holds .build-id/${build_id:0:2}/${build_id:2}.debug with DWARF" \
        bash -c 'readelf -S -W "$1" | grep -q "\] \.debug_info"' _ "$debug_file"
    check "$pkg-dbgsym: the debug file has the binary's build id" \
        bash -c 'readelf -n "$1" | grep -q "Build ID: $2"' _ "$debug_file" "$build_id"

    needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    check "$pkg: has DT_NEEDED entries (libc, libxml2 or libsqlite3 among them)" grep -Eq '^(libc\.so|libsqlite3|libxml2)' <<<"$needed"
    # ldd in a mount namespace where the toolchain's library directory is empty.
    resolved=$(unshare -m bash -c 'mount --bind "$1" "$2" && env -u LD_LIBRARY_PATH ldd "$3"' _ "$work/empty" "$toolchain_lib" "$binary" 2>&1) || true
    echo "$pkg: ldd with $toolchain_lib hidden:"; sed 's/^/    /' <<<"$resolved"
    for lib in $needed; do
        path=$(awk -v lib="$lib" '$1 == lib && $2 == "=>" { print $3; exit }
            substr($1, length($1) - length(lib)) == "/" lib { print $1; exit }' <<<"$resolved")
        real=$(readlink -f "$path" 2>/dev/null || true)
        if [[ -z $path || $path == not || ! -e $real ]]; then fail "$pkg: DT_NEEDED $lib does not resolve"; continue; fi
        if [[ $real == "$toolchain_lib"/* || $path == "$toolchain_lib"/* ]]; then fail "$pkg: DT_NEEDED $lib resolves into the toolchain ($path)"; continue; fi
        if owner=$(debian_owner "$path"); then pass "$pkg: DT_NEEDED $lib -> $path (Debian package $owner)"; else fail "$pkg: DT_NEEDED $lib -> $path, which no Debian package installed"; fi
    done
    # Every library loaded, directly or through another one (libssh2 -> OpenSSL, libxml2 -> ICU).
    while read -r lib arrow path _; do
        [[ $arrow == "=>" ]] || continue
        if [[ $path == "$toolchain_lib"/* ]] || ! owner=$(debian_owner "$path"); then
            fail "$pkg: loads $lib from $path, not from a Debian package"
        fi
    done <<<"$resolved"
    check "$pkg: every library ldd lists resolves (none 'not found')" bash -c '! grep -q "not found" <<<"$1"' _ "$resolved"
    check "$pkg: needs no Swift runtime library" bash -c '! grep -Eq "^(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime)" <<<"$1"' _ "$needed"
done

# 3. lintian: no error (warnings and notes are printed, not fatal).
lintian_out=$(lintian --fail-on error --tag-display-limit 0 "$work"/v1/*.deb 2>&1) && lintian_rc=0 || lintian_rc=$?
echo "lintian:"; sed 's/^/    /' <<<"${lintian_out:-(nothing)}"
if [[ $lintian_rc -eq 0 ]] && ! grep -q '^E:' <<<"$lintian_out"; then pass "lintian: no error"; else fail "lintian: errors (exit $lintian_rc)"; fi

# 4. Install.
dpkg_i() { DEBIAN_FRONTEND=noninteractive dpkg -i "$@" </dev/null >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; return 1; }; }
check "dpkg -i $version" dpkg_i "$(deb v1 outpost "$version")" "$(deb v1 outpost-hub "$version")"
mode() { stat -c '%a %U:%G' "$1" 2>/dev/null; }
for pkg in outpost outpost-hub; do
    state_mode=700; [[ $pkg == outpost-hub ]] && state_mode=750
    check "$pkg: installed at $version" bash -c '[[ $(dpkg-query -W -f="\${Status} \${Version}" "$1") == "install ok installed $2" ]]' _ "$pkg" "$version"
    check "$pkg: /usr/bin/$pkg 755 root:root" test "$(mode /usr/bin/$pkg)" = "755 root:root"
    check "$pkg: unit in /lib/systemd/system" test -f /lib/systemd/system/$pkg.service
    check "$pkg: unit starts /usr/bin/$pkg" grep -q "^ExecStart=/usr/bin/$pkg " /lib/systemd/system/$pkg.service
    check "$pkg: unit enabled (multi-user.target.wants link)" test "$(readlink /etc/systemd/system/multi-user.target.wants/$pkg.service)" = "/lib/systemd/system/$pkg.service"
    check "$pkg: /etc/$pkg 750 root:$pkg" test "$(mode /etc/$pkg)" = "750 root:$pkg"
    check "$pkg: /etc/$pkg/$pkg.yaml 640 root:$pkg, the example" bash -c '[[ $(stat -c "%a %U:%G" "$1") == "640 root:$2" ]] && cmp -s "$1" "$3"' _ /etc/$pkg/$pkg.yaml "$pkg" "deploy/examples/$pkg.yaml"
    check "$pkg: /etc/$pkg/$pkg.yaml is a conffile" bash -c 'dpkg-query -W -f="\${Conffiles}" "$1" | grep -q " /etc/$1/$1.yaml "' _ "$pkg"
    check "$pkg: Depends computed (libc6, libxml2 or libsqlite3, adduser)" bash -c 'd=$(dpkg-query -W -f="\${Depends}" "$1"); [[ $d == *libc6* && $d == *adduser* && ( $d == *libxml2* || $d == *libsqlite3* ) ]]' _ "$pkg"
    check "$pkg: system user (uid < 1000, nologin, home /var/lib/$pkg)" bash -c 'IFS=: read -r _ _ uid _ _ home shell < <(getent passwd "$1"); (( uid < 1000 )) && [[ $home == /var/lib/$1 && $shell == /usr/sbin/nologin ]]' _ "$pkg"
    check "$pkg: system group" getent group "$pkg"
    check "$pkg: /var/lib/$pkg $state_mode $pkg:$pkg" test "$(mode /var/lib/$pkg)" = "$state_mode $pkg:$pkg"
    check "$pkg: /usr/share/doc/$pkg/copyright and OPERATIONS.md" test -s /usr/share/doc/$pkg/copyright -a -s /usr/share/doc/$pkg/OPERATIONS.md
done

# Runs "$@" as user $1 in a mount namespace where the toolchain's library directory is an
# empty directory and LD_LIBRARY_PATH is unset.
# (The command is built in HIDDEN so that a background run's $! is the program itself: every
# step execs the next.)
hidden_command() {
    HIDDEN=(unshare -m bash -c 'mount --bind "$1" "$2" || exit 99; [[ ! -e $2/swift/linux/libswiftCore.so ]] || exit 98
        user=$3; shift 3; exec env -u LD_LIBRARY_PATH setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"' \
        _ "$work/empty" "$toolchain_lib" "$@")
}
hidden() { hidden_command "$@"; "${HIDDEN[@]}"; }
check "the namespace hides the toolchain (libswiftCore.so not visible)" \
    unshare -m bash -c 'mount --bind "$1" "$2" && [[ ! -e $2/swift/linux/libswiftCore.so ]]' _ "$work/empty" "$toolchain_lib"
# Control: the debug build loads the Swift runtime from the toolchain, so there it cannot start.
dynamic=.build/debug/outpost
if [[ -x $dynamic ]] && readelf -d "$dynamic" | grep -q 'NEEDED.*libswiftCore'; then
    control=$(hidden root "$repo/$dynamic" --version 2>&1) && rc=0 || rc=$?
    check "control: $dynamic (dynamic Swift runtime) does not start with the toolchain hidden" \
        bash -c '[[ $1 != 0 && $2 == *"error while loading shared libraries: libswift"* ]]' _ "$rc" "$control"
elif [[ -n ${CI:-} ]]; then
    fail "control: $dynamic is missing (scripts/test.sh builds it before this script)"
else
    echo "skip control: no $dynamic linked against the toolchain's runtime"
fi
for pkg in outpost outpost-hub; do
    printed=$(hidden "$pkg" /usr/bin/$pkg --version 2>&1) || true
    check "$pkg --version prints $version (toolchain hidden)" test "$printed" = "$version"
done
# The shipped agent example names files an operator creates first: check-config lists them.
example=$(hidden outpost /usr/bin/outpost check-config --config /etc/outpost/outpost.yaml 2>&1) && rc=0 || rc=$?
check "outpost check-config on the example: exit 1 listing hub.token_file (toolchain hidden)" bash -c '[[ $1 == 1 && $2 == *"hub.token_file: /etc/outpost/hub.token does not exist"* ]]' _ "$rc" "$example"
check "outpost-hub check-config on the example as outpost-hub (toolchain hidden)" \
    hidden outpost-hub /usr/bin/outpost-hub check-config --config /etc/outpost-hub/outpost-hub.yaml

# The operator's configuration: a drop directory, a token, the hub on loopback (a closed port:
# nothing leaves this machine). It replaces the conffile, as editing it would.
for d in drop archive error; do install -d -m 0750 -o outpost -g outpost "$work/$d"; done
install -m 0600 -o outpost -g outpost /dev/null "$work/hub.token"; echo "test-token" > "$work/hub.token"
cat > /etc/outpost/outpost.yaml <<EOF
# edited by the operator
agent:
  id: plant-test-01
  region: emea
  data_dir: /var/lib/outpost
sources:
  - name: drop
    type: file_drop
    path: $work/drop
    settle: 0s
    archive_dir: $work/archive
    error_dir: $work/error
hub:
  url: http://127.0.0.1:9/v1/events
  token_file: $work/hub.token
outbox:
  min_free_disk: 1MiB
admin:
  listen: null
EOF
echo "# edited by the operator" >> /etc/outpost-hub/outpost-hub.yaml
cp /etc/outpost/outpost.yaml "$work/outpost.yaml.edited"; cp /etc/outpost-hub/outpost-hub.yaml "$work/outpost-hub.yaml.edited"
check "outpost check-config on the edited configuration as outpost (toolchain hidden)" \
    hidden outpost /usr/bin/outpost check-config --config /etc/outpost/outpost.yaml

# A short run as the service user, toolchain hidden: it commits an IDoc to the outbox in
# /var/lib/outpost and archives the file (the hub is unreachable: the event stays pending).
cp samples/orders05-purchase-order.xml "$work/drop/"
chown outpost:outpost "$work"/drop/*
hidden_command outpost /usr/bin/outpost run --config /etc/outpost/outpost.yaml
"${HIDDEN[@]}" >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 60); do [[ -z $(ls -A "$work/drop") ]] && break; sleep 0.5; done
check "outpost run: the process is the agent, as outpost" test "$(ps -o user=,comm= -p "$agent_pid" | tr -s ' ')" = "outpost outpost"
kill -TERM "$agent_pid" 2>/dev/null || true
wait "$agent_pid" && agent_rc=0 || agent_rc=$?
agent_pid=""
check "outpost run: stopped cleanly on SIGTERM (exit $agent_rc)" test "$agent_rc" -eq 0
check "outpost run as outpost committed the file and archived it (toolchain hidden)" \
    bash -c '[[ -z $(ls -A "$1/drop") && -n $(find "$1/archive" -type f) ]]' _ "$work"
[[ $failed -eq 0 ]] || sed 's/^/    agent: /' "$work/agent.log" | tail -20
check "the outbox is in /var/lib/outpost, owned by outpost" test "$(stat -c %U /var/lib/outpost/outbox.sqlite 2>/dev/null)" = outpost
setpriv --reuid=outpost-hub --regid=outpost-hub --init-groups touch /var/lib/outpost-hub/hub.sqlite

kept() {  # kept LABEL: the edited conffiles, their modes and the data are as they were
    for pkg in outpost outpost-hub; do
        check "$1: /etc/$pkg/$pkg.yaml kept as edited, 640 root:$pkg" \
            bash -c 'cmp -s "$1" "$2" && [[ $(stat -c "%a %U:%G" "$1") == "640 root:$3" ]]' _ /etc/$pkg/$pkg.yaml "$work/$pkg.yaml.edited" "$pkg"
    done
    check "$1: outbox kept" test -s /var/lib/outpost/outbox.sqlite
    check "$1: hub data kept" test -e /var/lib/outpost-hub/hub.sqlite
}

# 5. Upgrade, roll back, reinstall.
check "dpkg -i $upgrade_version (upgrade)" dpkg_i "$(deb v2 outpost "$upgrade_version")" "$(deb v2 outpost-hub "$upgrade_version")"
check "upgrade: outpost at $upgrade_version" test "$(dpkg-query -W -f='${Version}' outpost)" = "$upgrade_version"
kept "upgrade"
check "upgrade: check-config as outpost passes" hidden outpost /usr/bin/outpost check-config --config /etc/outpost/outpost.yaml
check "upgrade: unit still enabled" test -L /etc/systemd/system/multi-user.target.wants/outpost.service
check "dpkg -i $version (roll back to the older .deb)" dpkg_i "$(deb v1 outpost "$version")" "$(deb v1 outpost-hub "$version")"
check "roll back: outpost at $version" test "$(dpkg-query -W -f='${Version}' outpost)" = "$version"
kept "roll back"
check "dpkg -i $version again (reinstall over itself)" dpkg_i "$(deb v1 outpost "$version")" "$(deb v1 outpost-hub "$version")"
kept "reinstall"

# 6. Remove: configuration, users and data stay. Purge: everything the packages created goes.
check "dpkg -r" bash -c 'dpkg -r outpost outpost-hub </dev/null >/dev/null 2>&1'
for pkg in outpost outpost-hub; do
    check "remove: $pkg in state config-files" test "$(dpkg-query -W -f='${Status}' $pkg)" = "deinstall ok config-files"
    check "remove: /usr/bin/$pkg and its unit gone" test ! -e /usr/bin/$pkg -a ! -e /lib/systemd/system/$pkg.service
    check "remove: /etc/$pkg/$pkg.yaml kept" cmp -s /etc/$pkg/$pkg.yaml "$work/$pkg.yaml.edited"
    check "remove: user $pkg kept" getent passwd $pkg
done
check "remove: outbox kept" test -s /var/lib/outpost/outbox.sqlite
check "remove: hub data kept" test -e /var/lib/outpost-hub/hub.sqlite
check "dpkg --purge" bash -c 'dpkg --purge outpost outpost-hub </dev/null >/dev/null 2>&1'
for pkg in outpost outpost-hub; do
    check "purge: $pkg unknown to dpkg" bash -c '! dpkg-query -W -f="\${Status}" "$1" 2>/dev/null | grep -q "ok"' _ $pkg
    check "purge: /etc/$pkg gone" test ! -e /etc/$pkg
    check "purge: /var/lib/$pkg gone" test ! -e /var/lib/$pkg
    check "purge: user and group $pkg gone" bash -c '! getent passwd "$1" && ! getent group "$1"' _ $pkg
    check "purge: no statoverride left" bash -c '! dpkg-statoverride --list "/etc/$1*" | grep -q .' _ $pkg
    check "purge: no enablement link left" test ! -e /etc/systemd/system/multi-user.target.wants/$pkg.service -a ! -L /etc/systemd/system/multi-user.target.wants/$pkg.service
done

echo "test-deb: $passed passed, $failed failed"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
