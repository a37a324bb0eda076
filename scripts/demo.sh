#!/usr/bin/env bash
# Runs Outpost end to end on an embedded default: a local hub on SQLite and an agent
# watching a local drop directory, all under ./demo (127.0.0.1 only).
# Drops a sample IDoc, shows it arriving at the hub, then keeps running until Ctrl-C
# (or exits at once with --once).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/install-deps.sh
swift build -c release --product outpost >/dev/null
swift build -c release --product outpost-hub >/dev/null
bin=$(swift build -c release --show-bin-path)
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
cat > "$demo/outpost-hub.yaml" <<YAML
listen: 127.0.0.1:$port
storage:
  sqlite: $demo/hub/hub.sqlite
read_token_sha256: $read_sha
agents:
  - id: demo-agent
    region: local
    token_sha256: $token_sha
YAML
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
  url: http://127.0.0.1:$port/v1/events
  token_file: $demo/agent.token
admin:
  listen: null
YAML
"$bin/outpost" check-config --config "$demo/outpost.yaml"
"$bin/outpost-hub" serve --config "$demo/outpost-hub.yaml" >"$demo/hub.log" 2>&1 &
hub=$!
"$bin/outpost" run --config "$demo/outpost.yaml" >"$demo/agent.log" 2>&1 &
agent=$!
trap 'kill -TERM $agent $hub 2>/dev/null; wait $agent $hub 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

sample=$(mktemp "$demo/drop/.ORDERS_demo.XXXX")
cat > "$sample" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<ORDERS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT>
<DOCNUM>$(date +%s%N | cut -c1-16)</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP>
<SNDPRN>DEMOCLNT100</SNDPRN><RCVPRN>HUB</RCVPRN><CREDAT>$(date -u +%Y%m%d)</CREDAT><CRETIM>$(date -u +%H%M%S)</CRETIM></EDI_DC40>
<E1EDK01 SEGMENT="1"><BELNR>4500000001</BELNR></E1EDK01></IDOC></ORDERS05>
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
echo "--- hub: GET /v1/stats"
curl -fs -H "Authorization: Bearer $read_token" "127.0.0.1:$port/v1/stats"; echo
echo "--- agent: outpost status"
"$bin/outpost" status --config "$demo/outpost.yaml"
[[ "${1:-}" == "--once" ]] && exit 0
cat <<TXT

Outpost is running (hub on http://127.0.0.1:$port, logs in $demo/*.log).
Drop more files:   cp $root/samples/*.xml $root/samples/*.txt $demo/drop/
See them:          curl -s -H "Authorization: Bearer \$(cat $demo/read.token)" 127.0.0.1:$port/v1/stats
Dashboard:         http://127.0.0.1:$port/ (the read token as a bearer token)
Ctrl-C stops both.
TXT
wait $agent
