#!/usr/bin/env bash
# AMQP benchmark (docs/BENCHMARKS.md, section "AMQP"):
#   1. ceiling: a plain C publisher (persistent, confirms every 500) and consumer (ack each)
#      with rabbitmq-c on the same broker;
#   2. queue → outbox: the agent's amqp source drains COUNT IDoc messages into its outbox;
#   3. outbox → broker: the agent publishes those COUNT events with confirms (amqp hub),
#      once in each content mode (binary, the default, then structured), from the same
#      outbox;
#   4. after each, the agent's own messages taken back and published again by the C client:
#      the broker's speed for messages of that shape (headers or a JSON body, topic
#      exchange, mandatory).
# Prints each rate, the agent's CPU per message, and the ratios of the steady rates.
# Starts its own RabbitMQ node on 127.0.0.1 in a temp dir and removes it afterwards.
# Usage: scripts/bench-amqp.sh [COUNT]   (default 20000; OUTPOST_BIN=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-20000}
scripts/install-deps.sh --test

if [[ -z "${OUTPOST_BIN:-}" ]]; then
  OUTPOST_BIN=$(scripts/build-release.sh outpost)/outpost
fi
T=$(mktemp -d /tmp/outpost-bench-amqp.XXXXXX)
cc -O2 -o "$T/amqp_ceiling" scripts/bench/amqp_ceiling.c -lrabbitmq

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); EPMD_PORT=$(free_port); DIST_PORT=$(free_port)
mkdir -p "$T/log" "$T/mnesia"; echo "[]." > "$T/enabled_plugins"
export HOME=$T RABBITMQ_NODENAME=outpostbench$$@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT=$PORT RABBITMQ_DIST_PORT=$DIST_PORT ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_MNESIA_BASE=$T/mnesia RABBITMQ_LOG_BASE=$T/log RABBITMQ_ENABLED_PLUGINS_FILE=$T/enabled_plugins \
  RABBITMQ_CONFIG_FILE=$T/rabbitmq RABBITMQ_ADVANCED_CONFIG_FILE=$T/advanced.config \
  RABBITMQ_CONF_ENV_FILE=$T/rabbitmq-env.conf RABBITMQ_PID_FILE=$T/rabbit.pid
CTL=(/usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" -q)
/usr/bin/epmd -port "$EPMD_PORT" -address 127.0.0.1 & EPMD_PID=$!
/usr/lib/rabbitmq/bin/rabbitmq-server >"$T/server.out" 2>&1 & SERVER_PID=$!
AGENT_PID=""
cleanup() {
  [[ -n "$AGENT_PID" ]] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null || true
  "${CTL[@]}" stop >/dev/null 2>&1 || kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  kill "$EPMD_PID" 2>/dev/null; wait "$EPMD_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
for _ in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 1; done
"${CTL[@]}" await_startup >/dev/null

depth() { "${CTL[@]}" list_queues name messages | awk -v q="$1" '$1==q {print $2}'; }

# One ORDERS05 IDoc of typical size (~2.3 KB), with a unique DOCNUM per message.
idoc() {
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<ORDERS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT><DOCNUM>%016d</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP><SNDPRN>BENCHCLNT</SNDPRN><RCVPRN>HUB</RCVPRN><CREDAT>20261126</CREDAT><CRETIM>101500</CRETIM></EDI_DC40>' "$1"
  for i in $(seq 1 18); do printf '<E1EDP01 SEGMENT="1"><POSEX>%05d</POSEX><MENGE>5602.800</MENGE><MENEE>UOM</MENEE><NETWR>10365.18</NETWR></E1EDP01>\n' "$i"; done
  printf '</IDOC></ORDERS05>\n'
}
idoc 1 > "$T/body.xml"
echo "message body: $(wc -c < "$T/body.xml") bytes; $COUNT messages; $(nproc) cores"

"$T/amqp_ceiling" setup "$PORT"

echo "== ceiling (plain C client, rabbitmq-c $(pkg-config --modversion librabbitmq))"
C_PUBLISH=$("$T/amqp_ceiling" publish "$PORT" ceiling "$COUNT" "$T/body.xml" 500)
echo "publish, persistent, confirms every 500: $C_PUBLISH"
C_CONSUME=$("$T/amqp_ceiling" consume "$PORT" ceiling "$COUNT" 100)
echo "consume, prefetch 100, ack each:         $C_CONSUME"
rate_of() { sed -E 's/.*= ([0-9]+) msg\/s$/\1/' <<<"$1"; }

"$T/amqp_ceiling" publish "$PORT" erp.outbound "$COUNT" "$T/body.xml" 500 >/dev/null
mkdir -p "$T/agent/data" "$T/agent/drop" "$T/agent/error"
write_config() {  # $1 = source block, $2 = hub block
  cat > "$T/agent/outpost.yaml" <<YAML
agent: {id: bench-01, region: emea, data_dir: $T/agent/data}
sources:
$1
hub:
$2
outbox: {high_watermark: 4GiB, low_watermark: 3GiB, min_free_disk: 64MiB}
admin: {listen: null}
logging: {level: warning}
YAML
}
rates() {  # $1 = what was counted, $2 = start, $3 = steady start, $4 = end, $5 = how many in the steady part
  python3 - "$COUNT" "$@" <<'PY'
import sys
count, noun = int(sys.argv[1]), sys.argv[2]
start, steady, end = map(float, sys.argv[3:6])
part = int(sys.argv[6])
print(f"{count} {noun} in {end - start:.2f} s = {round(count / (end - start))} msg/s from the agent's start; "
      f"steady: {part} in {end - steady:.2f} s = {round(part / (end - steady))} msg/s")
PY
}
cpu_per_message() {  # $1 = the agent's pid: its CPU (user + system) so far, per message
  python3 - "$1" "$COUNT" <<'PY'
import os, sys
fields = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()
seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
print(f"agent CPU {seconds:.2f} s = {seconds / int(sys.argv[2]) * 1e6:.0f} us per message")
PY
}
# The outbox's pending events, into PENDING (-1 while it cannot be read), from one sqlite3
# process kept open for the phase: a poll costs a query of a few milliseconds, where a
# program started per poll (`outpost status`, a JSON parser) took a sizeable share of the
# two cores from the agent being measured.
open_outbox_reader() {
  local db=$T/agent/data/outbox.sqlite
  for _ in $(seq 1 1500); do [[ -e "$db" ]] && break; sleep 0.02; done
  [[ -e "$db" ]] || { echo "no outbox at $db after 30 s; the agent's log: $T/agent/run1.log" >&2; exit 1; }
  coproc OUTBOX_READER { exec sqlite3 -batch "file:$db?mode=rw" 2>/dev/null; }
}
close_outbox_reader() {
  exec {OUTBOX_READER[1]}>&-
  wait "$OUTBOX_READER_PID" 2>/dev/null || true
}
read_pending() {
  local line
  PENDING=-1
  # The marker ends every answer, also one that failed (before the agent made its tables):
  # on a line of its own, since an error drops the rest of its line.
  printf "SELECT count(*) FROM event WHERE state = 'pending';\nSELECT 'end';\n" >&"${OUTBOX_READER[1]}"
  while read -r -t 10 line <&"${OUTBOX_READER[0]}" && [[ "$line" != end ]]; do PENDING=$line; done
}

echo "== queue -> outbox (amqp source, prefetch 200, commits grouped; hub unreachable)"
write_config "  - {name: erp-queue, type: amqp, url: 'amqp://127.0.0.1:$PORT/%2f', queue: erp.outbound, prefetch: 200, format: idoc-xml}" \
  "  url: http://127.0.0.1:9/v1/events
  token_file: $T/agent/token"
echo token > "$T/agent/token"
chmod 600 "$T/agent/token"
"$OUTPOST_BIN" run --config "$T/agent/outpost.yaml" >"$T/agent/run1.log" 2>&1 & AGENT_PID=$!
# -ge: the agent's start-up heartbeat waits in the outbox too (the hub is unreachable here).
# Two clocks: from the agent's start (start-up and connection included), and steady, from
# the first poll that sees messages committed to the last.
START=$(date +%s.%N)
open_outbox_reader
until read_pending; [[ "$PENDING" -ge 2 ]]; do sleep 0.05; done
STEADY_START=$(date +%s.%N); FIRST=$(( PENDING - 1 ))
until read_pending; [[ "$PENDING" -ge "$COUNT" ]]; do sleep 0.05; done
END=$(date +%s.%N)
close_outbox_reader
SOURCE=$(rates messages "$START" "$STEADY_START" "$END" $((COUNT - FIRST)))
echo "$SOURCE; $(cpu_per_message "$AGENT_PID")"
kill "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=""

# The outbox as the source left it, so that each content mode publishes the same events.
cp -a "$T/agent/data" "$T/agent/data.filled"
declare -A SINK C_SAME
for MODE in binary structured; do
  rm -rf "$T/agent/data"; cp -a "$T/agent/data.filled" "$T/agent/data"
  "${CTL[@]}" purge_queue hub.events >/dev/null
  echo "== outbox -> broker (amqp hub, content_mode $MODE, persistent, publisher confirms, batch 500, concurrency 8)"
  write_config "  - {name: idle, type: file_drop, path: $T/agent/drop, error_dir: $T/agent/error, after: delete}" \
    "  type: amqp
  url: 'amqp://127.0.0.1:$PORT/%2f'
  exchange: outpost.events
  routing_key: '{type}.{region}'
  content_mode: $MODE"
  open_outbox_reader
  read_pending; INITIAL=$PENDING
  "$OUTPOST_BIN" run --config "$T/agent/outpost.yaml" >"$T/agent/run-$MODE.log" 2>&1 & AGENT_PID=$!
  # Two clocks as above: from the agent's start, and steady, from the first poll that sees
  # events delivered to the last.
  START=$(date +%s.%N)
  until read_pending; [[ "$PENDING" -ge 0 && "$PENDING" -lt "$INITIAL" ]]; do sleep 0.05; done
  STEADY_START=$(date +%s.%N); LEFT=$PENDING
  until read_pending; [[ "$PENDING" == 0 ]]; do sleep 0.05; done
  END=$(date +%s.%N)
  close_outbox_reader
  SINK[$MODE]=$(rates events "$START" "$STEADY_START" "$END" "$LEFT")
  echo "${SINK[$MODE]}; $(cpu_per_message "$AGENT_PID"); hub.events holds $(depth hub.events)"
  kill "$AGENT_PID"; wait "$AGENT_PID" || true; AGENT_PID=""

  # The plain publisher above sends a bare body to the default exchange. The agent's messages
  # go through a topic exchange, `mandatory`, and in binary mode carry the CloudEvent's
  # attributes as headers (structured: one JSON body): the broker's speed for those very
  # messages is measured by taking them back from hub.events and publishing them again from
  # C, with confirms every 500 as above.
  C_SAME[$MODE]=$("$T/amqp_ceiling" republish "$PORT" hub.events "$COUNT" outpost.events 500)
  echo "== the agent's own $MODE messages published again by the C client (mandatory, confirms every 500)"
  echo "${C_SAME[$MODE]}"
done

# The ratios compare steady rates: the C client's clock, too, starts once it is connected.
echo "== ratios (steady rate / C client)"
python3 - "$(rate_of "$SOURCE")" "$(rate_of "$C_CONSUME")" "$(rate_of "$C_PUBLISH")" \
  "$(rate_of "${SINK[binary]}")" "$(rate_of "${C_SAME[binary]}")" \
  "$(rate_of "${SINK[structured]}")" "$(rate_of "${C_SAME[structured]}")" <<'PY'
import sys
source, consumer, publisher, binary, binary_same, structured, structured_same = map(float, sys.argv[1:8])
print(f"amqp source / C consumer:  {source / consumer:.2f} (target >= 0.50)")
print(f"amqp sink   / C publisher: {binary / publisher:.2f} (target >= 0.70; content_mode binary, the default)")
print(f"amqp sink   / C publisher of the same messages: {binary / binary_same:.2f}")
print(f"amqp sink, content_mode structured / C publisher: {structured / publisher:.2f}; "
      f"/ C publisher of the same messages: {structured / structured_same:.2f}")
PY
