#!/usr/bin/env python3
"""`GET /v1/spend` over many canonical documents (see scripts/bench-spend.sh, which builds the
binary and calls this). Figures and how to read them: docs/BENCHMARKS.md, "Canonical mapping".

For each storage (a fresh hub on SQLite, or on a private PostgreSQL cluster as in
hub_bench.py) the canonical documents are made the way the hub makes them: synthetic agents
post `--documents` realistic ORDERS05 and INVOIC02 events (idocs.py: 400 suppliers, 40 plants,
8 company codes and currencies, 24 months), the hub's mapper maps them in the background, and
the benchmark waits until `/v1/stats` counts a canonical document for every event. Then it
asks `GET /v1/spend` with each grouping and filter below `--requests` times, one request at a
time on a keep-alive connection after one untimed request, and reports p50/p99 latency (time
to the whole answer) and how many totals each answer holds.

    spend_bench.py --bin DIR [--storages postgres,sqlite] [--documents 1000000] [--agents 8]
                   [--lanes 2] [--batch 500] [--requests 20] [--json FILE]
"""
import argparse
import asyncio
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hub_bench import Lab, lane, percentile, prepare_agents, wait_for_mapping  # noqa: E402

QUERIES = [
    ("no grouping", "/v1/spend"),
    ("by region", "/v1/spend?group_by=region"),
    ("by supplier", "/v1/spend?group_by=supplier"),
    ("by plant and month", "/v1/spend?group_by=plant,month"),
    ("months 2026-01 to 2026-06", "/v1/spend?from=2026-01&to=2026-06"),
    ("by supplier, 2026-01 to 2026-06", "/v1/spend?group_by=supplier&from=2026-01&to=2026-06"),
]


def load(args, lab, name):
    """Starts a hub on `name` and has it map `args.documents` events; returns (port, figures)."""
    run = os.urandom(3).hex()
    args.pool_events = 0  # built while posting: ingest speed is not what is measured here
    agents = prepare_agents(args, run)
    if name == "sqlite":
        storage = f"  sqlite: {lab.work}/hub.sqlite"
    else:
        storage = f"  postgres: {lab.start_postgres()}\n  pool_size: {args.pool}"
    (port, hub), = lab.start_hubs(storage, 1, agents, "on")
    budget = -(-args.documents // args.agents)
    results = {"accepted": 0, "latencies": [], "status": {}}
    started = time.monotonic()

    async def post_all():
        deadline = time.monotonic() + 10 * 86400
        await asyncio.gather(*[lane(agent, [port], args, run, deadline, results, 0, budget)
                               for agent in agents for _ in range(args.lanes)])

    asyncio.run(post_all())
    ingest = time.monotonic() - started
    print(f"{name}: {results['accepted']:,} events stored in {ingest:.0f} s ({results['accepted'] / ingest:,.0f}/s), "
          f"answers {results['status']}", flush=True)
    last = [0.0]

    def progress(waited, events, documents, failed):
        if waited - last[0] >= 60:
            last[0] = waited
            print(f"  mapping: {documents + failed:,} of {events:,} after {ingest + waited:.0f} s", flush=True)

    lag, events, documents, failed, caught_up = wait_for_mapping(port, args.catch_up_timeout, progress, interval=5)
    total = ingest + lag
    print(f"{name}: {documents:,} canonical documents of {events:,} events, {failed} failed mappings"
          f"{'' if caught_up else ' (gave up waiting)'}; mapped {total:.0f} s after the first event "
          f"({(documents + failed) / total:,.0f} documents/s), {lag:.0f} s after the last", flush=True)
    return port, {"events": events, "documents": documents, "failed_mappings": failed, "ingest_s": round(ingest, 1),
                  "mapped_after_s": round(total, 1), "lag_s": round(lag, 1)}


def table_rows(lab, name, table):
    if name == "sqlite":
        with sqlite3.connect(f"file:{lab.work}/hub.sqlite?mode=ro", uri=True) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    answer = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(lab.pg[1]), "-U", "outpost", "-d", "hub", "-Atc",
                             f"SELECT count(*) FROM {table}"], check=True, capture_output=True, text=True)
    return int(answer.stdout)


def time_queries(port, requests):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    figures = []
    for label, path in QUERIES:
        times = []
        totals = 0
        for index in range(requests + 1):
            started = time.perf_counter()
            connection.request("GET", path)
            answer = connection.getresponse()
            body = answer.read()
            elapsed = time.perf_counter() - started
            if answer.status != 200:
                raise SystemExit(f"{path}: {answer.status} {body[:200]!r}")
            if index:
                times.append(elapsed)
            else:
                totals = len(json.loads(body)["totals"])
        figures.append({"query": label, "path": path, "totals": totals,
                        "p50_ms": round(1000 * percentile(times, 0.50), 1),
                        "p99_ms": round(1000 * percentile(times, 0.99), 1)})
        print(f"  {label:32s} {path:55s} {totals:>6,} totals  p50 {figures[-1]['p50_ms']:>7} ms  "
              f"p99 {figures[-1]['p99_ms']:>7} ms", flush=True)
    connection.close()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--storages", default="postgres,sqlite")
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--catch-up-timeout", type=float, default=4 * 3600)
    parser.add_argument("--json")
    args = parser.parse_args()
    # what Lab and the lanes read from hub_bench's options
    args.mix, args.max_connections, args.hub_option = "orders05,invoic02", 4096, []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    reports = []
    for name in args.storages.split(","):
        lab = Lab(args)
        try:
            port, report = load(args, lab, name)
            report["storage"] = name
            report["spend_lines"] = table_rows(lab, name, "spend_line")
            report["spend_cells"] = table_rows(lab, name, "spend_cell")
            print(f"{name}: {report['spend_lines']:,} spend lines, {report['spend_cells']:,} aggregate cells (spend_cell); "
                  f"GET /v1/spend, {args.requests} requests each:", flush=True)
            report["queries"] = time_queries(port, args.requests)
            reports.append(report)
        finally:
            lab.stop()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(reports, f, indent=2)


if __name__ == "__main__":
    main()
