# Sourced by scripts/bench.sh and scripts/bench-peers.sh: the options they share, a work
# directory, and a Python driver run so that a stop (even a hard one) leaves no process behind.
#
#   bench_options "$@"        sets bench_build (0 with --skip-build), bench_keep (1 with --keep)
#                             and bench_args (the rest, --keep included, for the driver)
#   bench_workdir PREFIX      sets work: $BENCH_DIR, else a new directory under ${TMPDIR:-/tmp}
#   bench_run COMMAND…        runs the driver, stops it and whatever it started at exit, removes
#                             the work directory unless --keep, and exits with its status

bench_options() {
  bench_build=1
  bench_keep=0
  bench_args=()
  local a
  for a in "$@"; do
    case "$a" in
      --skip-build) bench_build=0 ;;
      --keep) bench_keep=1; bench_args+=("$a") ;;
      *) bench_args+=("$a") ;;
    esac
  done
}

bench_workdir() {
  work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")}
  mkdir -p "$work"
}

bench_machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_driver=""
bench_cleanup() {
  set +e
  # The driver stops what it started; this catches anything left if it was killed hard
  # (each measurement writes the processes it started to a `pids` file in its directory).
  if [[ -n "$bench_driver" ]]; then
    kill -TERM "$bench_driver" 2>/dev/null
    wait "$bench_driver" 2>/dev/null
  fi
  local pids pid
  for pids in "$work/pids" "$work"/*/pids; do
    [[ -f "$pids" ]] || continue
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done < "$pids"
  done
  ((bench_keep)) || rm -rf "$work"
}

bench_run() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  "$@" &
  bench_driver=$!
  local status=0
  wait "$bench_driver" || status=$?
  bench_driver=""
  exit $status
}
