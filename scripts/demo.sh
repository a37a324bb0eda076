#!/usr/bin/env bash
# Runs Outpost end to end on an embedded default: a local hub on SQLite and an agent
# watching a local drop directory, all under ./demo (127.0.0.1 only).
# Drops a sample IDoc, shows it arriving at the hub, then keeps running until Ctrl-C
# (or exits at once with --once).
#
#   scripts/demo.sh [--once] [--postgres]
#
# --postgres: the same on a private PostgreSQL cluster under ./demo (needs root: the server runs
# as the postgres user) with two hub replicas, the agent sending to both.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
once=0 postgres=0
for arg in "$@"; do
  case $arg in
    --once) once=1 ;;
    --postgres) postgres=1 ;;
    *) echo "usage: scripts/demo.sh [--once] [--postgres]" >&2; exit 1 ;;
  esac
done
scripts/install-deps.sh
if ((postgres)); then
  dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q "install ok installed" \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
fi
bin=$(scripts/build-release.sh outpost outpost-hub)
demo=$root/demo
mkdir -p "$demo"/{drop,archive,error,data,hub}
port=${OUTPOST_DEMO_PORT:-8080}
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$token" > "$demo/agent.token"
chmod 600 "$demo/agent.token"
token_sha=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
read_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')   # reads (GET /v1/*, the dashboard) need it
printf '%s\n' "$read_token" > "$demo/read.token"
chmod 600 "$demo/read.token"
read_sha=$(printf '%s' "$read_token" | sha256sum | cut -d' ' -f1)
storage="  sqlite: $demo/hub/hub.sqlite"
hub_urls="http://127.0.0.1:$port/v1/events"
replicas=($port)
if ((postgres)); then
  pg=$demo/pg; pgbin=/usr/lib/postgresql/15/bin
  pgport=${OUTPOST_DEMO_PG_PORT:-55432}
  if [[ ! -d $pg/data ]]; then
    mkdir -p "$pg"; chmod 755 "$demo" "$pg"; chown postgres "$pg"
    runuser -u postgres -- $pgbin/initdb -D "$pg/data" -A trust -U outpost >/dev/null
  fi
  runuser -u postgres -- $pgbin/pg_ctl -D "$pg/data" -l "$pg/server.log" -w start \
    -o "-p $pgport -k $pg -c listen_addresses=127.0.0.1" >/dev/null
  psql -h 127.0.0.1 -p "$pgport" -U outpost -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = 'hub'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$pgport" -U outpost -d postgres -qc "CREATE DATABASE hub"
  storage="  postgres: postgres://outpost@127.0.0.1:$pgport/hub?sslmode=disable"
  replicas=($port $((port + 1)))
  hub_urls="[http://127.0.0.1:$port/v1/events, http://127.0.0.1:$((port + 1))/v1/events]"
fi
for replica in "${replicas[@]}"; do
cat > "$demo/outpost-hub-$replica.yaml" <<YAML
listen: 127.0.0.1:$replica
storage:
$storage
read_token_sha256: $read_sha
agents:
  - id: demo-agent
    region: local
    token_sha256: $token_sha
YAML
done
cat > "$demo/outpost.yaml" <<YAML
agent:
  id: demo-agent
  region: local
  data_dir: $demo/data
sources:
  - name: drop
    type: file_drop
    path: $demo/drop
    include: ["*.xml", "*.txt", "*.idoc"]
    settle: 500ms
    archive_dir: $demo/archive
    error_dir: $demo/error
hub:
  url: $hub_urls
  token_file: $demo/agent.token
admin:
  listen: null
YAML
"$bin/outpost" check-config --config "$demo/outpost.yaml"
hubs=()
for replica in "${replicas[@]}"; do
  "$bin/outpost-hub" serve --config "$demo/outpost-hub-$replica.yaml" >"$demo/hub-$replica.log" 2>&1 &
  hubs+=($!)
done
stop_all() {
  kill -TERM "${agent:-}" "${hubs[@]}" 2>/dev/null; wait "${agent:-}" "${hubs[@]}" 2>/dev/null || true
  if ((postgres)); then runuser -u postgres -- $pgbin/pg_ctl -D "$pg/data" -m fast stop >/dev/null || true; fi
}
trap stop_all EXIT
for replica in "${replicas[@]}"; do
  for _ in $(seq 100); do curl -fs "127.0.0.1:$replica/healthz" >/dev/null && break; sleep 0.2; done
done
"$bin/outpost" run --config "$demo/outpost.yaml" >"$demo/agent.log" 2>&1 &
agent=$!

sample=$(mktemp "$demo/drop/.ORDERS_demo.XXXX")
cat > "$sample" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ORDERS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT>
<DOCNUM>$(date +%s%N | cut -c1-16)</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP>
<SNDPRN>DEMOCLNT100</SNDPRN><RCVPRN>HUB</RCVPRN><CREDAT>$(date -u +%Y%m%d)</CREDAT><CRETIM>$(date -u +%H%M%S)</CRETIM></EDI_DC40>
<E1EDK01 SEGMENT="1"><CURCY>EUR</CURCY><BELNR>4500000001</BELNR></E1EDK01>
<E1EDKA1 SEGMENT="1"><PARVW>LF</PARVW><PARTN>0000100234</PARTN></E1EDKA1></IDOC></ORDERS05>
XML
mv "$sample" "$demo/drop/ORDERS_demo.xml"   # a rename is how batch jobs publish complete files
echo "dropped $demo/drop/ORDERS_demo.xml; waiting for the hub to have it…"
for _ in $(seq 50); do
  n=$(curl -fs -H "Authorization: Bearer $read_token" "127.0.0.1:$port/v1/events?type=sap.idoc.ORDERS&limit=1" | grep -c '"id"' || true)
  [[ "$n" -gt 0 ]] && break
  sleep 0.2
done
echo "--- hub: GET /v1/events?type=sap.idoc.ORDERS&limit=1"
curl -fs -H "Authorization: Bearer $read_token" "127.0.0.1:$port/v1/events?type=sap.idoc.ORDERS&limit=1" | head -c 600; echo
echo "--- the samples' story: a purchase order, two goods receipts (flat), the invoice"
for name in orders05-purchase-order.xml wmmbid02-goods-receipts.txt invoic02-invoice.xml; do
  cp "$root/samples/$name" "$demo/drop/.$name.tmp" && mv "$demo/drop/.$name.tmp" "$demo/drop/$name"
done
for _ in $(seq 100); do
  curl -fs -H "Authorization: Bearer $read_token" "127.0.0.1:$port/v1/match/4500017342" | grep -q '"invoiced_amount":"2472.00"' && break
  sleep 0.2
done
echo "--- hub: GET /v1/match/4500017342 (three-way match; docs/MAPPING.md)"
curl -fs -H "Authorization: Bearer $read_token" "127.0.0.1:$port/v1/match/4500017342"; echo
echo "--- hub: GET /v1/spend?group_by=region,supplier"
curl -fs -H "Authorization: Bearer $read_token" "127.0.0.1:$port/v1/spend?group_by=region,supplier"; echo
echo "--- hub: GET /v1/stats"
curl -fs -H "Authorization: Bearer $read_token" "127.0.0.1:$port/v1/stats"; echo
echo "--- agent: outpost status"
"$bin/outpost" status --config "$demo/outpost.yaml"
if ((postgres)); then
  echo "--- hub replica on port $((port + 1)) (same database): GET /v1/stats"
  curl -fs -H "Authorization: Bearer $read_token" "127.0.0.1:$((port + 1))/v1/stats"; echo
fi
((once)) && exit 0
cat <<TXT

Outpost is running (hub on http://127.0.0.1:$port$( ((postgres)) && echo " and :$((port + 1)), on PostgreSQL"), logs in $demo/*.log).
Drop more files:   cp $root/samples/*.xml $root/samples/*.txt $demo/drop/
See them:          curl -s -H "Authorization: Bearer \$(cat $demo/read.token)" 127.0.0.1:$port/v1/stats
Dashboard:         http://127.0.0.1:$port/ (the read token as a bearer token)
Ctrl-C stops both.
TXT
wait $agent
