#!/usr/bin/env bash
# Builds Outpost's Debian packages (docs/OPERATIONS.md, "Install"):
#
#   outpost_VERSION_ARCH.deb             the agent: /usr/bin/outpost, outpost.service, /etc/outpost/outpost.yaml
#   outpost-hub_VERSION_ARCH.deb         the hub:   /usr/bin/outpost-hub, outpost-hub.service, /etc/outpost-hub/outpost-hub.yaml
#   outpost-dbgsym_VERSION_ARCH.deb      their debug symbols, /usr/lib/debug/.build-id/…
#   outpost-hub-dbgsym_VERSION_ARCH.deb
#
#   scripts/package-deb.sh [--out DIR] [--version VERSION] [--no-build] [--fast]
#
#   --out DIR          where the packages go (default: .build/deb)
#   --version VERSION  package version (default: what `outpost --version` prints)
#   --no-build         package the release binaries already built
#   --fast             compress with xz -1 instead of xz -6 (tests: same contents, 15% larger)
#
# The binaries are built by scripts/build-release.sh, with the Swift runtime linked in, so
# they need only Debian's libraries;
# `Depends` is computed from them by dpkg-shlibdeps. They are stripped; their debug symbols
# go to the -dbgsym packages (found by gdb through the build id, or the .gnu_debuglink).
# Needs dpkg-dev and binutils (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

out=.build/deb; version=""; build=1; level=6
while (($#)); do
    case "$1" in
        --out) out=$2; shift ;;
        --version) version=$2; shift ;;
        --no-build) build=0 ;;
        --fast) level=1 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package-deb.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
    esac
    shift
done

for tool in dpkg-deb dpkg-shlibdeps objcopy strip readelf; do
    command -v "$tool" >/dev/null || { echo "package-deb.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

products=(outpost outpost-hub)
if ((build)); then
    echo "building the release binaries with the Swift runtime linked in (scripts/build-release.sh)"
    scripts/build-release.sh >/dev/null
fi
bin=$(scripts/build-release.sh --bin-path)
for product in "${products[@]}"; do
    [[ -x $bin/$product ]] || { echo "package-deb.sh: $bin/$product not found (run without --no-build)" >&2; exit 1; }
    # A binary that still loads the Swift runtime from the toolchain would not start on a host without it.
    if readelf -d "$bin/$product" | grep -E 'NEEDED.*\[(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime)' >&2; then
        echo "package-deb.sh: $bin/$product loads the Swift runtime dynamically (built without --static-swift-stdlib?)" >&2
        exit 1
    fi
done

binary_version=$("$bin/outpost" --version)
hub_version=$("$bin/outpost-hub" --version)
[[ $binary_version == "$hub_version" ]] || { echo "package-deb.sh: outpost is $binary_version but outpost-hub is $hub_version" >&2; exit 1; }
[[ -n $version ]] || version=$binary_version
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "package-deb.sh: '$version' is not a native Debian version" >&2; exit 1; }
arch=$(dpkg --print-architecture)
maintainer="Outpost maintainers <maintainers@users.noreply.r-seed-916f50df.example>"
# Time stamps come from the last commit, so the same commit gives the same package contents.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

description() {
    case "$1" in
        outpost) cat <<'EOF'
Description: agent forwarding ERP documents to a central hub, durably
 Outpost runs beside a legacy ERP host and makes its documents (SAP IDocs from
 drop directories, SFTP servers or AMQP queues) flow to a central hub as
 CloudEvents: each document is committed to a local durable outbox first, then
 forwarded with retries, backpressure and dead-lettering.
 .
 This package holds the agent, its hardened systemd unit and an example
 configuration in /etc/outpost.
EOF
        ;;
        outpost-hub) cat <<'EOF'
Description: hub receiving and storing events from Outpost agents
 The reference hub of Outpost: it receives the agents' CloudEvents batches,
 de-duplicates them by event id, stores them in SQLite or PostgreSQL and shows
 them through an HTTP API and a dashboard.
 .
 This package holds the hub, its hardened systemd unit and an example
 configuration in /etc/outpost-hub.
EOF
        ;;
    esac
}

# Debian's native changelog, one entry for this version.
changelog() {
    printf '%s (%s) unstable; urgency=medium\n\n  * Outpost %s, built from commit %s.\n\n -- %s  %s\n' \
        "$1" "$version" "$version" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
}

# Sets every time stamp under $1 to SOURCE_DATE_EPOCH.
clamp_times() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# Writes DEBIAN/md5sums for the files under $1.
md5sums() { (cd "$1" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0r md5sum) > "$1/DEBIAN/md5sums"; }

installed_size() { du -sk --exclude=DEBIAN "$1" | cut -f1; }

for pkg in "${products[@]}"; do
    root=$work/$pkg; dbg=$work/$pkg-dbgsym
    case $pkg in outpost) state_mode=0700 ;; outpost-hub) state_mode=0750 ;; esac

    # Binary, stripped; its debug symbols kept apart under their build id.
    install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/$pkg" \
        "$root/usr/share/doc/$pkg"
    objcopy --only-keep-debug --compress-debug-sections=zlib "$bin/$pkg" "$work/$pkg.debug"
    build_id=$(readelf -n "$bin/$pkg" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
    [[ -n $build_id ]] || { echo "package-deb.sh: $bin/$pkg has no build id" >&2; exit 1; }
    strip --remove-section=.comment --remove-section=.note --strip-unneeded -o "$root/usr/bin/$pkg" "$bin/$pkg"
    objcopy --add-gnu-debuglink="$work/$pkg.debug" "$root/usr/bin/$pkg"
    chmod 0755 "$root/usr/bin/$pkg"
    install -d -m 0755 "$dbg/DEBIAN" "$dbg/usr/lib/debug/.build-id/${build_id:0:2}" "$dbg/usr/share/doc"
    install -m 0644 "$work/$pkg.debug" "$dbg/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
    ln -s "$pkg" "$dbg/usr/share/doc/$pkg-dbgsym"

    # Unit, example configuration (a conffile), documentation.
    install -m 0644 "deploy/systemd/$pkg.service" "$root/lib/systemd/system/$pkg.service"
    install -m 0644 "deploy/examples/$pkg.yaml" "$root/etc/$pkg/$pkg.yaml"
    echo "/etc/$pkg/$pkg.yaml" > "$root/DEBIAN/conffiles"
    install -m 0644 deploy/debian/copyright "$root/usr/share/doc/$pkg/copyright"
    install -m 0644 docs/OPERATIONS.md "$root/usr/share/doc/$pkg/OPERATIONS.md"
    changelog "$pkg" | gzip -9n > "$root/usr/share/doc/$pkg/changelog.gz"
    chmod 0644 "$root/usr/share/doc/$pkg/changelog.gz"
    if [[ -f deploy/debian/$pkg.lintian-overrides ]]; then
        install -d -m 0755 "$root/usr/share/lintian/overrides"
        install -m 0644 "deploy/debian/$pkg.lintian-overrides" "$root/usr/share/lintian/overrides/$pkg"
    fi
    for script in postinst prerm postrm; do
        sed -e "s/@PACKAGE@/$pkg/g" -e "s/@STATE_MODE@/$state_mode/g" "deploy/debian/$script" > "$root/DEBIAN/$script"
        chmod 0755 "$root/DEBIAN/$script"
    done

    # Depends: the packages holding the shared libraries the binary loads, at the versions
    # its symbols need, as dpkg-shlibdeps reads them from Debian's shlibs/symbols files.
    mkdir -p "$work/shlibs/debian"
    printf 'Source: outpost\n\nPackage: %s\nArchitecture: any\n' "$pkg" > "$work/shlibs/debian/control"
    shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$root/usr/bin/$pkg" 2>"$work/$pkg.shlibdeps.log") \
        || { cat "$work/$pkg.shlibdeps.log" >&2; exit 1; }
    depends=${shlibs#shlibs:Depends=}
    [[ $shlibs == shlibs:Depends=* && $depends == *libc6* ]] || { echo "package-deb.sh: dpkg-shlibdeps gave '$shlibs'" >&2; exit 1; }

    md5sums "$root"
    {
        printf 'Package: %s\nSource: outpost\nVersion: %s\nArchitecture: %s\nMaintainer: %s\n' "$pkg" "$version" "$arch" "$maintainer"
        printf 'Installed-Size: %s\nDepends: %s, adduser\nSection: net\nPriority: optional\n' "$(installed_size "$root")" "$depends"
        description "$pkg"
    } > "$root/DEBIAN/control"

    md5sums "$dbg"
    {
        printf 'Package: %s-dbgsym\nSource: outpost\nVersion: %s\nAuto-Built-Package: debug-symbols\n' "$pkg" "$version"
        printf 'Architecture: %s\nMaintainer: %s\nInstalled-Size: %s\n' "$arch" "$maintainer" "$(installed_size "$dbg")"
        printf 'Depends: %s (= %s)\nSection: debug\nPriority: optional\n' "$pkg" "$version"
        printf 'Description: debug symbols for %s\nBuild-Ids: %s\n' "$pkg" "$build_id"
    } > "$dbg/DEBIAN/control"

    # The debug file's sections are compressed already (zlib): gzip -1 is as good as xz there.
    for dir in "$root" "$dbg"; do
        chmod 0644 "$dir"/DEBIAN/{control,md5sums}; [[ ! -f $dir/DEBIAN/conffiles ]] || chmod 0644 "$dir/DEBIAN/conffiles"
        clamp_times "$dir"
        compression=(-Zxz "-z$level"); [[ $dir == "$dbg" ]] && compression=(-Zgzip -z1)
        dpkg-deb --root-owner-group "${compression[@]}" --build "$dir" "$out" >/dev/null
    done
    echo "built $out/${pkg}_${version}_${arch}.deb (Depends: $depends, adduser) and ${pkg}-dbgsym"
done
