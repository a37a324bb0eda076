#!/usr/bin/env bash
# Installs (or upgrades) Outpost as a systemd service in one step: binary, unit, config,
# system user and directories. See docs/OPERATIONS.md.
#
#   deploy/install.sh [--hub] [--bin DIR] [--root DIR] [--no-start]   install or upgrade
#   deploy/install.sh --rollback [--hub] [--root DIR]                 back to the previous binary
#
#   --hub       install outpost-hub instead of the agent
#   --bin DIR   where the built binaries are (default: .build/release; build them with
#               `swift build -c release`)
#   --root DIR  install under DIR instead of / (packaging and tests): no user is created,
#               systemctl is not called
#   --no-start  install and enable, but do not (re)start the service
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
name=outpost; bin_dir="$here/.build/release"; root=""; start=1; rollback=0
while (($#)); do
  case "$1" in
    --hub) name=outpost-hub ;;
    --bin) bin_dir=$2; shift ;;
    --root) root=${2%/}; shift ;;
    --no-start) start=0 ;;
    --rollback) rollback=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
  shift
done

bin="$root/usr/local/bin/$name"
etc="$root/etc/$name"
state="$root/var/lib/$name"
unit="$root/etc/systemd/system/$name.service"
doc="$root/usr/local/share/doc/outpost"

systemd() {  # runs systemctl only on a real installation with systemd running
  if [[ -z $root && -d /run/systemd/system ]]; then systemctl "$@"; else echo "  (skipped: systemctl $*)"; fi
}

if ((rollback)); then
  [[ -x $bin.previous ]] || { echo "install.sh: no previous binary at $bin.previous to roll back to" >&2; exit 1; }
  echo "rolling back $bin to the previous version"
  mv -f "$bin" "$bin.rolled-back"
  mv -f "$bin.previous" "$bin"
  systemd restart "$name"
  exit 0
fi

[[ -z $root && $(id -u) -ne 0 ]] && { echo "install.sh: run as root (or with --root DIR)" >&2; exit 1; }
[[ -x $bin_dir/$name ]] || { echo "install.sh: $bin_dir/$name not found; build it with: swift build -c release" >&2; exit 1; }

echo "installing $name"
if [[ -z $root ]] && ! id "$name" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "/var/lib/$name" --no-create-home --shell /usr/sbin/nologin "$name"
  echo "  created system user $name"
fi
install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system" "$doc"
install -d -m 0750 "$etc"
install -d -m 0700 "$state"   # the outbox holds every document read: owner only
[[ -z $root ]] && chown "$name:$name" "$state" && chgrp "$name" "$etc"

# Keep the running version for --rollback; install the new one atomically.
if [[ -x $bin ]]; then cp -p "$bin" "$bin.previous"; echo "  kept the previous binary as $bin.previous"; fi
install -m 0755 "$bin_dir/$name" "$bin.new" && mv -f "$bin.new" "$bin"

install -m 0644 "$here/deploy/systemd/$name.service" "$unit"
install -m 0644 "$here/docs/OPERATIONS.md" "$doc/OPERATIONS.md"
if [[ ! -e $etc/$name.yaml ]]; then
  install -m 0640 "$here/deploy/examples/$name.yaml" "$etc/$name.yaml"
  [[ -z $root ]] && chgrp "$name" "$etc/$name.yaml"
  echo "  wrote the example configuration to $etc/$name.yaml: edit it before starting"
  start=0
else
  echo "  kept the existing configuration $etc/$name.yaml"
  "$bin" check-config --config "$etc/$name.yaml" || { echo "install.sh: fix $etc/$name.yaml, then run: systemctl restart $name" >&2; start=0; }
fi

systemd daemon-reload
systemd enable "$name"
if ((start)); then systemd restart "$name"; systemd --no-pager status "$name" || true; fi
echo "done: $bin"
