#!/usr/bin/env bash
# Installs the Debian packages Outpost builds and tests with (only the missing ones).
# Usage: scripts/install-deps.sh [--test|--peers]   (--test adds the servers and tools the tests use;
#   --peers adds syslog-ng for scripts/bench-peers.sh: the package's service is not started by it)
# dpkg-dev and binutils: scripts/package-deb.sh (dpkg-shlibdeps, strip, objcopy).
set -euo pipefail
packages=(libxml2-dev libssh2-1-dev libsqlite3-dev pkg-config libxml2-utils librabbitmq-dev zlib1g-dev libzstd-dev dpkg-dev binutils)   # zlib1g-dev, libzstd-dev: gzip and zstd request bodies (ContentCoding)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(postgresql procps openssh-server openssh-client curl rabbitmq-server chromium systemd sqlite3 openssl util-linux fuse3 libfuse3-dev gcc tinyproxy python3-pip lintian debhelper init-system-helpers adduser)   # postgresql: the PostgreSQL hub tests (a private cluster each run); chromium: dashboard test; systemd: systemd-analyze; sqlite3: bench-sftp counts; openssl: HubTLSTests PKI; util-linux: setpriv (agent run as nobody); fuse3, libfuse3-dev, gcc: powercutfs (reliability power phase); tinyproxy: HubProxyTests; python3-pip: the cloudevents SDK below
fi
if [[ "${1:-}" == "--peers" ]]; then
  packages+=(syslog-ng-core syslog-ng-mod-http)   # scripts/bench-peers.sh runs its own syslog-ng process
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The official CloudEvents Python SDK, for the receiver CloudEventsReceiverTests sends to
# (scripts/cloudevents-receiver.py).
if [[ "${1:-}" == "--test" ]] && ! python3 -c "import cloudevents" 2>/dev/null; then
  echo "installing: cloudevents (PyPI)"
  python3 -m pip install -q --break-system-packages cloudevents 2>/dev/null || python3 -m pip install -q cloudevents
fi
