#!/usr/bin/env python3
"""The hub benchmark: synthetic agents posting batches to real `outpost-hub` processes on
127.0.0.1 (see scripts/bench-hub.sh, which builds the binary and calls this).

Each scenario starts fresh: a hub on SQLite, or one or more hub replicas on a private
PostgreSQL cluster (initdb + pg_ctl in a temp dir, as the postgres user). N agents, each with
its own token and region, post batches of ORDERS05 IDoc events (about 3 KB each, as the agent
sends them) over keep-alive connections, each agent `--lanes` batches at a time, for
`--seconds` (with `--rate`, each lane on a fixed schedule whose phase is random, so the
offered load is a steady stream). A 429 or 503 is waited out for its `Retry-After` (as the agent does) and counted;
one without `Retry-After` counts as an error. Reported per scenario: events/s stored,
batches/s, p50/p99 batch latency (answered 200), answers by status, and each hub's peak RSS
and CPU seconds. Every process it starts is stopped at exit.

Canonical mapping (docs/BENCHMARKS.md, "Canonical mapping"): `--mix orders05,invoic02` posts
realistic purchase orders and invoices instead (idocs.py: a few hundred suppliers, 40 plants,
8 company codes and currencies, 24 months of document dates; each invoice refers to an order
the agent sent before). `--mapping on|off|both` sets the hub's `mapping.enabled` (by default
the configuration says nothing, so the hub's default holds); with `both` every storage runs
with mapping off and on in each round, the order alternated from round to round. After a run
with mapping on the benchmark waits until `/v1/stats` counts a canonical document or a failed
mapping for every stored event and reports the mapping lag (how long after the last answer),
the mapper's rate while catching up, and the ratio of events/s stored with mapping on to off
per storage. The database server's CPU is reported beside the hub's.

    hub_bench.py --bin DIR [--scenarios sqlite,postgres,postgres2] [--agents 8] [--lanes 2]
                 [--batch 500] [--seconds 20] [--rate EVENTS_PER_S] [--max-connections N]
                 [--max-concurrent-batches N]
                 [--hub-option KEY:VALUE ...] [--rounds N] [--json FILE]
                 [--mix orders05,invoic02] [--mapping on|off|both] [--catch-up-timeout S]
"""
import argparse
import asyncio
import hashlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

PG_BIN = "/usr/lib/postgresql/15/bin"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import cpu_seconds, free_port, proc_status  # noqa: E402  (the benchmark's shared helpers)
from idocs import Mix  # noqa: E402  (realistic purchase orders and invoices)


def idoc_data(n):
    """An ORDERS05 IDoc as the agent puts it in `data` (XML in a JSON string), about 2.3 KB."""
    items = "".join(
        f'<E1EDP01 SEGMENT="1"><POSEX>{10 * i:06d}</POSEX><MENGE>{i}.000</MENGE><MENEE>EA</MENEE>'
        f'<NETWR>{i * 113}.50</NETWR><MATNR>MAT-{n % 9973:05d}-{i}</MATNR>'
        f'<E1EDP19 SEGMENT="1"><QUALF>001</QUALF><IDTNR>MAT-{i}</IDTNR></E1EDP19></E1EDP01>'
        for i in range(1, 9))
    xml = (f'<ORDERS05><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT>'
           f'<DOCNUM>{n:016d}</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP><SNDPRN>BENCHCLNT100</SNDPRN>'
           f'</EDI_DC40><E1EDK01 SEGMENT="1"><CURCY>EUR</CURCY><BELNR>45{n % 100000000:08d}</BELNR></E1EDK01>'
           f'{items}</IDOC></ORDERS05>')
    return json.dumps(xml)[1:-1]


class Agent:
    def __init__(self, index, token, mix=None):
        self.index = index
        self.id = f"bench-{index:04d}"
        self.region = f"r{index % 4}"
        self.token = token
        self.next = 0
        self.data = idoc_data(index)
        self.mix = mix
        self.pool = []  # batch bodies built before the run (--mix), taken in turn
        self.pool_batch = 0
        self.pool_exhausted = False

    def prebuild(self, batches, count, run):
        """Builds `batches` bodies of `count` events ahead, so that the run spends no CPU on them."""
        self.pool = [self.body(count, run) for _ in range(batches)]
        self.pool_batch = count
        self.next = 0

    def take(self, count, run):
        """The next batch: from the pool while it lasts, else built now."""
        index = self.next // count if count == self.pool_batch else len(self.pool)
        if self.next % max(1, count) == 0 and index < len(self.pool):
            self.next += count
            return self.pool[index]
        if self.pool:
            self.pool_exhausted = True
        return self.body(count, run)

    def body(self, count, run):
        if self.mix:
            return self.mixed_body(count, run)
        events = []
        for _ in range(count):
            self.next += 1
            events.append(
                '{"specversion":"1.0","id":"idoc:BENCH:%s:%s:%d","source":"outpost://%s/sap","type":"sap.idoc.ORDERS",'
                '"subject":"%d","time":"2026-12-05T10:15:00Z","datacontenttype":"application/xml","data":"%s",'
                '"partitionkey":"idoc:BENCH:%s","sequence":"%d","agentid":"%s","region":"%s"}'
                % (run, self.id, self.next, self.id, self.next, self.data, self.id, self.next, self.id, self.region))
        return ("[" + ",".join(events) + "]").encode()

    def mixed_body(self, count, run):
        events = []
        for _ in range(count):
            self.next += 1
            kind, data = self.mix.event(self.index, self.index % 4, self.next)
            events.append(
                '{"specversion":"1.0","id":"idoc:BENCH:%s:%s:%d","source":"outpost://%s/sap","type":"%s",'
                '"subject":"%d","time":"2026-12-05T10:15:00Z","datacontenttype":"application/xml","data":"%s",'
                '"partitionkey":"idoc:BENCH:%s","sequence":"%d","agentid":"%s","region":"%s"}'
                % (run, self.id, self.next, self.id, kind, self.next, data, self.id, self.next, self.id, self.region))
        return ("[" + ",".join(events) + "]").encode()


async def post(reader, writer, port, token, body):
    writer.write(
        (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
         f"Content-Type: application/cloudevents-batch+json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    retry_after = None
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "retry-after":
            retry_after = int(value)
    answer = await reader.readexactly(length) if length else b""
    return status, answer, retry_after


async def lane(agent, ports, args, run, deadline, results, pace, budget=None):
    """Posts the agent's batches until `deadline` or, with `budget`, until the agent has sent
    that many events."""
    port = ports[hash((agent.id, id(results), time.monotonic_ns())) % len(ports)]
    reader = writer = None
    # With a rate, each lane sends a batch every `pace` seconds on its own schedule, the lanes'
    # schedules spread evenly over one period (a random phase each), so the hub sees a steady
    # stream rather than every lane at once; a lane that falls behind sends at once.
    due = time.monotonic() + random.uniform(0, pace)
    while time.monotonic() < deadline and (budget is None or agent.next < budget):
        if pace:
            await asyncio.sleep(max(0, due - time.monotonic()))
            due += pace
        count = min(args.batch, budget - agent.next) if budget else args.batch
        body = agent.take(count, run)
        started = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status, answer, retry_after = await post(reader, writer, port, agent.token, body)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            results["status"]["error"] = results["status"].get("error", 0) + 1
            writer = None
            await asyncio.sleep(0.1)
            continue
        key = str(status)
        if status in (429, 503) and retry_after is None:
            key = f"{status} without Retry-After"
        results["status"][key] = results["status"].get(key, 0) + 1
        if status == 200:
            results["latencies"].append(time.monotonic() - started)
            results["accepted"] += json.loads(answer).get("accepted", 0)
        elif retry_after is not None:
            agent.next -= count  # the same events again, as the agent resends them
            await asyncio.sleep(min(retry_after, max(0, deadline - time.monotonic())))
            due = max(due, time.monotonic())  # resume the schedule, not a burst to catch up
    if writer is not None:
        writer.close()


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered))) - 1))]


class Lab:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="outpost-hub-bench-")
        os.chmod(self.work, 0o755)
        self.procs = []
        self.pg = None

    def start_postgres(self):
        user = pwd.getpwnam("postgres")
        root = os.path.join(self.work, "pg")  # the server's own: data, log, socket
        os.makedirs(root)
        os.chown(root, user.pw_uid, user.pw_gid)
        data = os.path.join(root, "data")
        port = free_port()
        run = lambda *cmd: subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, stdout=subprocess.DEVNULL)
        run(f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U", "outpost")
        run(f"{PG_BIN}/pg_ctl", "-D", data, "-l", os.path.join(root, "server.log"), "-w", "start",
            "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300")
        self.pg = (data, port)
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "outpost", "-d", "postgres", "-qc",
                        "CREATE DATABASE hub"], check=True)
        return f"postgres://outpost@127.0.0.1:{port}/hub?sslmode=disable"

    def start_hubs(self, storage, replicas, agents, mapping=None):
        agent_yaml = "".join(
            f"  - {{id: {a.id}, region: {a.region}, token_sha256: {hashlib.sha256(a.token.encode()).hexdigest()}}}\n"
            for a in agents)
        ports = []
        for index in range(replicas):
            port = free_port()
            config = os.path.join(self.work, f"hub-{index}.yaml")
            with open(config, "w") as f:
                f.write(f"listen: 127.0.0.1:{port}\nstorage:\n{storage}\nmax_concurrent_batches: {self.args.max_concurrent_batches}\n"
                        f"max_connections: {self.args.max_connections}\n"
                        + "".join(f"{option.replace(':', ': ', 1)}\n" for option in self.args.hub_option)
                        + (f"mapping: {{enabled: {'true' if mapping == 'on' else 'false'}}}\n" if mapping else "") +
                        f"read_access: open\nagents:\n{agent_yaml}")
            log = open(os.path.join(self.work, f"hub-{index}.log"), "w")
            proc = subprocess.Popen([os.path.join(self.args.bin, "outpost-hub"), "serve", "--config", config,
                                     "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT)
            self.procs.append(proc)
            ports.append((port, proc))
        for port, proc in ports:
            deadline = time.time() + 60
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"hub exited at start; see {self.work}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        if b" 200 " in s.recv(100):
                            break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise SystemExit(f"hub did not answer /healthz; see {self.work}")
                time.sleep(0.2)
        return ports

    def db_cpu_seconds(self):
        """CPU seconds of the PostgreSQL server: the postmaster, its ended children and the live ones."""
        if not self.pg:
            return 0.0
        with open(os.path.join(self.pg[0], "postmaster.pid")) as f:
            master = int(f.readline())
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, parent = int(entry), int(fields[1])
            if pid == master:
                total += sum(int(v) for v in fields[11:15]) / CLOCK_TICKS  # its own and its ended children's
            elif parent == master:
                total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs = []
        if self.pg:
            subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D", self.pg[0], "-m", "immediate",
                            "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.pg = None
        shutil.rmtree(self.work, ignore_errors=True)


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/stats", timeout=30) as answer:
        return json.load(answer)


def mapping_counts(port):
    """(events stored, canonical documents, failed mappings, mapping position) from /v1/stats."""
    answer = stats(port)
    mapping = answer.get("mapping") or {}
    return (answer.get("events", 0), sum(mapping.get("documents", {}).values()),
            sum(count["count"] for count in mapping.get("failed_mappings", [])), mapping.get("position"))


def wait_for_mapping(port, timeout, progress=None, interval=1.0):
    """Polls /v1/stats every `interval` seconds until every stored event has a canonical
    document or a failed mapping (not more often: on PostgreSQL each answer counts the open
    exceptions). Returns (seconds waited, events, documents, failed, caught up); gives up when
    the position stands still for 60 s (events the profiles do not take) or after `timeout`."""
    started = time.monotonic()
    last_position, still_since = None, started
    while True:
        events, documents, failed, position = mapping_counts(port)
        now = time.monotonic()
        if documents + failed >= events:
            return now - started, events, documents, failed, True
        if position != last_position:
            last_position, still_since = position, now
        if now - still_since > 60 or now - started > timeout:
            return now - started, events, documents, failed, False
        if progress:
            progress(now - started, events, documents, failed)
        time.sleep(interval)


def prepare_agents(args, run):
    mix = Mix(args.mix.split(",")) if args.mix else None
    agents = [Agent(i, f"bench-token-{i}-{os.urandom(6).hex()}", mix) for i in range(args.agents)]
    if mix and args.pool_events:
        started = time.monotonic()
        batches = -(-args.pool_events // (args.agents * args.batch))
        for agent in agents:
            agent.prebuild(batches, args.batch, run)
        print(f"built {batches * args.batch * args.agents:,} events ({args.mix}) in {time.monotonic() - started:.1f} s, "
              f"{sum(len(b) for a in agents for b in a.pool) / 2**20:,.0f} MiB", flush=True)
    return agents


def scenario(args, name, mapping=None, agents=None, run=None):
    lab = Lab(args)
    try:
        if agents is None:
            run = os.urandom(3).hex()
            agents = prepare_agents(args, run)
        for agent in agents:
            agent.next = 0
            agent.pool_exhausted = False
        if name == "sqlite":
            storage, replicas = f"  sqlite: {lab.work}/hub.sqlite", 1
        else:
            url = lab.start_postgres()
            storage = f"  postgres: {url}\n  pool_size: {args.pool}"
            replicas = 2 if name == "postgres2" else 1
        hubs = lab.start_hubs(storage, replicas, agents, mapping)
        ports = [port for port, _ in hubs]
        results = {"accepted": 0, "latencies": [], "status": {}}
        cpu_before = [cpu_seconds(p.pid) for _, p in hubs]
        db_before = lab.db_cpu_seconds()
        pace = 0
        if args.rate:
            pace = args.agents * args.lanes * args.batch / args.rate

        async def main():
            deadline = time.monotonic() + args.seconds
            tasks = [lane(agent, ports, args, run, deadline, results, pace) for agent in agents for _ in range(args.lanes)]
            await asyncio.gather(*tasks)

        started = time.monotonic()
        asyncio.run(main())
        elapsed = time.monotonic() - started
        hub_cpu = [cpu_seconds(p.pid) - before for (_, p), before in zip(hubs, cpu_before)]
        db_cpu = lab.db_cpu_seconds() - db_before
        report = {
            "scenario": name, "replicas": replicas, "agents": args.agents, "lanes": args.lanes, "batch": args.batch,
            "seconds": round(elapsed, 2),
            "events_per_s": round(results["accepted"] / elapsed),
            "batches_per_s": round(len(results["latencies"]) / elapsed, 1),  # stored (200)
            "p50_ms": round(1000 * (percentile(results["latencies"], 0.50) or 0), 1),
            "p99_ms": round(1000 * (percentile(results["latencies"], 0.99) or 0), 1),
            "status": results["status"],
            "hub_peak_rss_mib": [round(proc_status(p.pid, "VmHWM") or 0.0, 1) for _, p in hubs],
            "hub_cpu_s": [round(c, 2) for c in hub_cpu],
        }
        report["hub_cpu_us_per_event"] = round(1e6 * sum(report["hub_cpu_s"]) / max(1, results["accepted"]), 1)
        if lab.pg:
            report["db_cpu_s"] = round(db_cpu, 2)
            report["db_cpu_us_per_event"] = round(1e6 * db_cpu / max(1, results["accepted"]), 1)
        if args.mix:
            report["mix"] = args.mix
            report["pool_exhausted"] = any(a.pool_exhausted for a in agents)
        if mapping:
            report["mapping"] = mapping
        if mapping == "on":
            port = ports[0]
            events, documents_at_end, failed_at_end, _ = mapping_counts(port)
            cpu_at_end = [cpu_seconds(p.pid) for _, p in hubs]
            db_at_end = lab.db_cpu_seconds()
            lag, events, documents, failed, caught_up = wait_for_mapping(port, args.catch_up_timeout)
            after = documents + failed - documents_at_end - failed_at_end
            catch_up_cpu = sum(cpu_seconds(p.pid) - c for (_, p), c in zip(hubs, cpu_at_end))
            report.update({
                "events_stored": events, "documents": documents, "failed_mappings": failed, "caught_up": caught_up,
                "mapped_during_ingest": documents_at_end + failed_at_end,
                "mapping_lag_s": round(lag, 2),
                # while catching up nothing else runs: the mapper's own rate and cost
                "mapper_docs_per_s": round(after / lag) if lag > 0.5 else None,
                "mapper_hub_cpu_us_per_doc": round(1e6 * catch_up_cpu / after, 1) if after > 1000 else None,
                "mapper_db_cpu_us_per_doc": (round(1e6 * (lab.db_cpu_seconds() - db_at_end) / after, 1)
                                             if lab.pg and after > 1000 else None),
                "mapped_per_s_overall": round((documents + failed) / (elapsed + lag)),
                "failures": (stats(port).get("mapping") or {}).get("failed_mappings", []),
            })
        return report
    finally:
        lab.stop()


def print_report(name, round_, report):
    line = (f"{name:10s} {('mapping ' + report['mapping']) if 'mapping' in report else '':11s} round {round_}: "
            f"{report['events_per_s']:>7,} events/s  "
            f"{report['batches_per_s']:>6} batches/s  p50 {report['p50_ms']} ms  p99 {report['p99_ms']} ms  "
            f"status {report['status']}  hub RSS {report['hub_peak_rss_mib']} MiB  "
            f"hub CPU {report['hub_cpu_s']} s ({report['hub_cpu_us_per_event']} µs/event)")
    if "db_cpu_s" in report:
        line += f"  db CPU {report['db_cpu_s']} s ({report['db_cpu_us_per_event']} µs/event)"
    if report.get("pool_exhausted"):
        line += "  (prebuilt events ran out: the rest built during the run)"
    print(line, flush=True)
    if report.get("mapping") == "on":
        verdict = ("every event mapped" if report["documents"] == report["events_stored"] and report["failed_mappings"] == 0
                   else f"NOT ALL MAPPED: {report['events_stored'] - report['documents']} events without a document, "
                        f"failures {report['failures']}")
        print(f"{'':22s} mapped {report['documents']:,} of {report['events_stored']:,} events, "
              f"{report['failed_mappings']} failed ({verdict}); {report['mapped_during_ingest']:,} mapped while ingesting; "
              f"lag {report['mapping_lag_s']} s after the last answer"
              f"{'' if report['caught_up'] else ' (gave up waiting)'}; mapper {report['mapper_docs_per_s']} docs/s "
              f"catching up (hub {report['mapper_hub_cpu_us_per_doc']} µs/doc"
              + (f", db {report['mapper_db_cpu_us_per_doc']} µs/doc" if report.get("mapper_db_cpu_us_per_doc") else "")
              + f"), {report['mapped_per_s_overall']:,} docs/s from first event to caught up", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--scenarios", default="sqlite,postgres,postgres2")
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=0, help="total events/s to offer (0: as fast as answered)")
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--max-connections", type=int, default=4096, help="the hub's max_connections")
    parser.add_argument("--max-concurrent-batches", type=int, default=64, help="the hub's max_concurrent_batches")
    parser.add_argument("--hub-option", action="append", default=[],
                        help="another top-level hub key, KEY:VALUE (e.g. per_agent:{events_per_second: 100})")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the scenarios, alternated")
    parser.add_argument("--mix", default="",
                        help="realistic documents, kinds in turn: orders05, invoic02 or orders05,invoic02 "
                             "(default: the synthetic ORDERS05 of eight items, the same per agent)")
    parser.add_argument("--mapping", choices=["default", "on", "off", "both"], default="default",
                        help="the hub's mapping.enabled; both: off and on in every round (default: not configured)")
    parser.add_argument("--pool-events", type=int, default=300_000,
                        help="with --mix, events built before the runs (all agents; reused by every run)")
    parser.add_argument("--catch-up-timeout", type=float, default=900, help="seconds to wait for mapping to catch up")
    parser.add_argument("--json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    modes = {"default": [None], "on": ["on"], "off": ["off"], "both": ["off", "on"]}[args.mapping]
    run = os.urandom(3).hex()
    agents = prepare_agents(args, run) if args.mix else None
    reports = []
    for round_ in range(args.rounds):
        for name in args.scenarios.split(","):
            for mapping in (modes if round_ % 2 == 0 else list(reversed(modes))):
                report = scenario(args, name, mapping, agents, run) if agents else scenario(args, name, mapping)
                report["round"] = round_ + 1
                reports.append(report)
                print_report(name, round_ + 1, report)
    if args.mapping == "both":
        print("mapping on / off, events/s stored (target ≥ 80%):")
        for name in args.scenarios.split(","):
            on = [r["events_per_s"] for r in reports if r["scenario"] == name and r.get("mapping") == "on"]
            off = [r["events_per_s"] for r in reports if r["scenario"] == name and r.get("mapping") == "off"]
            rounds = " ".join(f"{a / b:.0%}" for a, b in zip(on, off))
            ratio = statistics.median(on) / statistics.median(off)
            print(f"  {name:10s} on {statistics.median(on):,.0f} / off {statistics.median(off):,.0f} (medians) = {ratio:.0%} "
                  f"{'met' if ratio >= 0.8 else 'MISSED'}; per round {rounds}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(reports, f, indent=2)


if __name__ == "__main__":
    main()
