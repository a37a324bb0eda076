#!/usr/bin/env bash
# SFTP source benchmark: files/s and MB/s from a loopback OpenSSH sshd into the outbox,
# beside OpenSSH's own client (`sftp -b`) fetching the same files (the ceiling).
#
# Usage: scripts/bench-sftp.sh [SMALL_FILES] [LARGE_FILES] [ROUNDS]   (defaults 2000, 300, 9)
#        SLOW_SYNC_US=5000 scripts/bench-sftp.sh …   Outpost's runs on a disk whose syncs take
#          5 ms (scripts/bench/slow_sync.c, preloaded: each fsync/fdatasync waits that long
#          first, like a network or cloud volume's); OpenSSH's client never syncs.
#   SMALL: SMALL_FILES files of ~5 KB (one ORDERS05 IDoc each)
#   LARGE: LARGE_FILES files of ~1 MB (about 200 IDocs each), OpenSSH and Outpost alternated
#          ROUNDS times: this machine's noise moves both figures by 15% and more from one
#          round to the next (a median of five rounds came out anywhere from 66 to 80% on
#          the same code), so the ratio is given per round and as the median of nine rounds
#          by default, each round with the machine's I/O wait and steal during both runs
#          (rounds with either are suspect).
# Needs root (it creates the unprivileged login user `outpostsftp`, like the tests).
# Outpost runs `after: delete`, `format: idoc-xml`, poll_interval 100ms, settle 0s, with no
# hub listening (events stay in the outbox); a run ends when the remote directory is empty,
# i.e. when the last file is committed AND acknowledged. Startup and the first two
# listings are included in the time (conservative). Each run starts after a `sync`, so none
# pays for writing back what the one before left in the page cache. Then, for the large files:
# Outpost with `format: raw` (no XML parsing), libssh2 alone (scripts/bench/sftp_ceiling.c:
# the same library and read pattern, nothing stored; then deleting each file after it), and
# Outpost from a local drop directory (file_drop, no SFTP): what intake alone reaches here.
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${1:-2000}
LARGE=${2:-300}
ROUNDS=${3:-9}
scripts/install-deps.sh --test
OUTPOST="$(scripts/build-release.sh outpost)/outpost"

WORK=$(mktemp -d /tmp/outpost-bench-sftp.XXXXXX)
chmod 755 "$WORK"
cc -O2 -o "$WORK/sftp_ceiling" scripts/bench/sftp_ceiling.c -lssh2
PRELOAD=""
if [[ -n "${SLOW_SYNC_US:-}" ]]; then
  cc -O2 -shared -fPIC -o "$WORK/slow_sync.so" scripts/bench/slow_sync.c -ldl
  PRELOAD="$WORK/slow_sync.so"
  echo "(Outpost's runs: every fsync/fdatasync waits ${SLOW_SYNC_US} µs first, scripts/bench/slow_sync.c)"
fi
USER_NAME=outpostsftp
id -u "$USER_NAME" >/dev/null 2>&1 || useradd -M -d /nonexistent -s /bin/sh "$USER_NAME"
echo "$USER_NAME:outpost-sftp-bench-$RANDOM$RANDOM" | chpasswd
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N "" -f "$WORK/host_ed25519"
ssh-keygen -q -t ed25519 -N "" -f "$WORK/client_ed25519"
cp "$WORK/client_ed25519.pub" "$WORK/authorized_keys"; chmod 644 "$WORK/authorized_keys"
while :; do
  PORT=$((20000 + RANDOM % 30000))
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
cat >"$WORK/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/host_ed25519
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
AllowUsers $USER_NAME
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -D -f "$WORK/sshd_config" -E "$WORK/sshd.log" &
SSHD=$!
AGENT=""
cleanup() {
  [[ -n "$AGENT" ]] && kill "$AGENT" 2>/dev/null || true
  kill "$SSHD" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$WORK/host_ed25519.pub")" >"$WORK/known_hosts"

# One ORDERS05 IDoc of about 5 KB with DOCNUM $1.
idoc() {
  printf '<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT><DOCNUM>%016d</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP><SNDPRN>BENCHCLNT</SNDPRN><RCVPRN>HUB</RCVPRN><CREDAT>20261126</CREDAT><CRETIM>101500</CRETIM></EDI_DC40>' "$1"
  for line in $(seq 30); do
    printf '<E1EDP01 SEGMENT="1"><POSEX>%06d</POSEX><MENGE>%d.000</MENGE><MENEE>PCE</MENEE><NETWR>%d.00</NETWR><MATNR>MAT-%08d-BENCH</MATNR></E1EDP01>' "$line" "$line" "$((line * 7))" "$line"
  done
  printf '</IDOC>'
}
generate() { # directory count idocs-per-file first-docnum
  local dir=$1 count=$2 per=$3 docnum=$4 template
  mkdir -p "$dir"; chmod 777 "$dir"
  template=$(idoc 0)
  for ((f = 0; f < count; f++)); do
    {
      printf '<?xml version="1.0" encoding="UTF-8"?><ORDERS05>'
      for ((i = 0; i < per; i++)); do
        # The increment stays in this shell (inside $(…) it would be lost: every IDoc the same DOCNUM).
        printf '%s' "${template/<DOCNUM>0000000000000000</<DOCNUM>$(printf '%016d' "$docnum")<}"
        docnum=$((docnum + 1))
      done
      printf '</ORDERS05>\n'
    } >"$dir/ORDERS_$(printf '%06d' "$f").xml"
  done
  chmod 644 "$dir"/*.xml
  touch -d '-1 min' "$dir"/*.xml
}

now() { date +%s.%N; }

# A fresh copy of the generated files $1 at $2 (each run consumes its directory).
fill() { rm -rf "$2"; cp -a "$1" "$2"; }

# libssh2 alone fetching every file of $1 (with $2 = delete, removing each): start and end.
libssh2_run() {
  local start end
  sync
  start=$(now)
  "$WORK/sftp_ceiling" "$PORT" "$USER_NAME" "$WORK/client_ed25519" "$1" ${2:-} >/dev/null
  end=$(now)
  echo "$start $end"
}

# OpenSSH's sftp fetching every file of $1 (the ceiling).
ceiling() {
  local dir=$1 local_dir="$WORK/fetched"
  rm -rf "$local_dir"; mkdir -p "$local_dir"
  local start end
  sync  # nothing left to write back from generating the files (see outpost_run)
  start=$(now)
  sftp -q -b - -i "$WORK/client_ed25519" -o UserKnownHostsFile="$WORK/known_hosts" -o StrictHostKeyChecking=yes \
    -P "$PORT" "$USER_NAME@127.0.0.1" >/dev/null <<<"get $dir/* $local_dir/"
  end=$(now)
  echo "$start $end"
}

# Outpost picking up every file of $1 into a fresh outbox with codec $2 (default idoc-xml);
# with $3 = local, from a file_drop source on $1 itself instead of over SFTP (the intake's own
# ceiling on this machine). Returns start and end times.
outpost_run() {
  local dir=$1 format=${2:-idoc-xml} data="$WORK/agent-data" source
  rm -rf "$data"
  if [[ ${3:-} == local ]]; then
    source="{name: bench-local, type: file_drop, path: $dir, settle: 0s, after: delete, error_dir: $WORK/error, format: $format}"
  else
    source="{name: bench-sftp, type: sftp, host: 127.0.0.1, port: $PORT, user: $USER_NAME,
      private_key_file: $WORK/client_ed25519, known_hosts_file: $WORK/known_hosts, remote_dir: $dir,
      poll_interval: 100ms, settle: 0s, format: $format, after: delete}"
  fi
  echo "bench-token" >"$WORK/hub.token"
  chmod 600 "$WORK/hub.token"
  cat >"$WORK/agent.yaml" <<YAML
agent:
  id: bench-01
  region: emea
  data_dir: $data
sources:
  - $source
hub:
  url: http://127.0.0.1:9/v1/events
  token_file: $WORK/hub.token
  retry_initial: 30s
  retry_max: 60s
outbox:
  high_watermark: 16GiB
  low_watermark: 15GiB
  min_free_disk: 100MiB
admin:
  listen: null
logging:
  level: warning
YAML
  local start end
  # Every run starts with nothing waiting to be written back: the files just generated and
  # the ceiling's downloads (OpenSSH's client never syncs) would otherwise be flushed during
  # this run, and every commit's sync would wait behind them.
  sync
  start=$(now)
  LD_PRELOAD="$PRELOAD" "$OUTPOST" run --config "$WORK/agent.yaml" >"$WORK/agent.log" 2>&1 &
  AGENT=$!
  # Waits on inotify (deletions and moves out of the directory) and looks whether the
  # directory is empty after each batch of events: no polling, so the watcher takes no CPU
  # from the agent on this 2-core machine (a 5 ms scandir loop took ~0.4 CPU-s of a run,
  # a shell loop of `ls` and `sleep` ~0.5 CPU-s; the OpenSSH run pays no such cost).
  end=$(python3 -c '
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
watch = libc.inotify_init1(0)
if watch < 0 or libc.inotify_add_watch(watch, sys.argv[1].encode(), 0x200 | 0x40) < 0:
    sys.exit("inotify: " + os.strerror(ctypes.get_errno()))
while any(True for _ in os.scandir(sys.argv[1])):
    os.read(watch, 65536)
print(f"{time.time():.6f}")' "$dir")
  kill "$AGENT"; wait "$AGENT" 2>/dev/null || true; AGENT=""
  echo "$start $end"
}

report() { # label files bytes start end
  awk -v label="$1" -v files="$2" -v bytes="$3" -v s="$4" -v e="$5" 'BEGIN {
    t = e - s; printf "| %-34s | %6d | %8.1f | %7.2f s | %8.0f | %7.1f |\n", label, files, bytes / 1048576, t, files / t, bytes / 1048576 / t }'
}

echo "| run                                | files |     MiB |      time |  files/s |   MiB/s |"
echo "|------------------------------------|-------|---------|-----------|----------|---------|"
mib_s() { awk -v b="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.3f", b / 1048576 / (e - s) }'; }
# The machine's I/O wait and steal so far, in ticks of /proc/stat (1/100 s): a neighbour on
# the host (steal) or a slow disk (I/O wait) moves a round's figures far more than a change.
ticks() { awk '/^cpu / { print $6, $9 }' /proc/stat; }
# "I/O wait X s, steal Y s" between two `ticks` snapshots.
noise() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
  printf "I/O wait %.2f s, steal %.2f s", (y[1] - x[1]) / 100, (y[2] - x[2]) / 100 }'; }
for set in small large; do
  if [[ $set == small ]]; then count=$SMALL; per=1; first=1; rounds=1; else count=$LARGE; per=200; first=1000000; rounds=$ROUNDS; fi
  pristine="$WORK/generated-$set" src="$WORK/remote-$set"
  generate "$pristine" "$count" "$per" "$first"
  bytes=$(du -sb "$pristine" | cut -f1)
  ratios=()
  for ((round = 1; round <= rounds; round++)); do
    fill "$pristine" "$src"
    t0=$(ticks)
    read -r s e < <(ceiling "$src")
    t1=$(ticks)
    report "OpenSSH sftp -b, $set files" "$count" "$bytes" "$s" "$e"
    ceiling_rate=$(mib_s "$bytes" "$s" "$e")
    read -r s e < <(outpost_run "$src")
    t2=$(ticks)
    report "outpost sftp source, $set files" "$count" "$bytes" "$s" "$e"
    ratio=$(awk -v a="$(mib_s "$bytes" "$s" "$e")" -v c="$ceiling_rate" 'BEGIN { printf "%.0f", 100 * a / c }')
    ratios+=("$ratio")
    events=$(sqlite3 "$WORK/agent-data/outbox.sqlite" "select count(*) from event where type like 'sap.idoc.%'" 2>/dev/null || echo "?")
    echo "|   (IDoc events committed: $events; $ratio% of OpenSSH's MiB/s in this round)"
    echo "|   (machine during OpenSSH's run: $(noise "$t0" "$t1"); during Outpost's: $(noise "$t1" "$t2"))"
  done
  if [[ $set == large ]]; then
    median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    echo "|   (large files, Outpost against OpenSSH per round: ${ratios[*]} %; median $median%)"
    # The transfer alone: format raw (one event per file, no XML parsing), same files again.
    fill "$pristine" "$src"
    read -r s e < <(outpost_run "$src" raw)
    report "outpost sftp source, large, raw" "$count" "$bytes" "$s" "$e"
    # libssh2 alone, storing nothing: the download's own ceiling; then with a removal per
    # file sent as Outpost sends it (on a second SFTP channel, its reply read before the next
    # removal): what `after: delete` leaves of that ceiling.
    fill "$pristine" "$src"
    read -r s e < <(libssh2_run "$src")
    report "libssh2 alone, large, nothing kept" "$count" "$bytes" "$s" "$e"
    read -r s e < <(libssh2_run "$src" delete)
    report "libssh2 alone, large, + delete" "$count" "$bytes" "$s" "$e"
    # No SFTP at all: the same files from a local drop directory (what intake alone reaches).
    fill "$pristine" "$src"
    read -r s e < <(outpost_run "$src" idoc-xml local)
    report "outpost file_drop, large (no SFTP)" "$count" "$bytes" "$s" "$e"
  fi
done
