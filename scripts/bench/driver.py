#!/usr/bin/env python3
"""Runs the Outpost benchmark: see scripts/bench.sh (which builds the binaries and calls this).

Measurements (each repeated --runs times, the median reported):
  ceiling  `xmllint --stream --noout` over the data set (libxml2's streaming parser alone)
  ingest   hub down: from the first rename into the drop directory until the last file has
           left it (a file is archived right after its outbox commit)
  e2e      hub up on 127.0.0.1: from the first rename until GET /v1/stats counts every IDoc
  big      hub down: one ~1 GiB file, its ingest time and the agent's peak RSS
Every process this script starts is stopped in a `finally` (also on SIGINT/SIGTERM), and its
pid is listed in WORKDIR/pids so that bench.sh can stop leftovers too.
"""
import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Stop(Exception):
    pass


def on_signal(signum, _frame):
    raise Stop(f"signal {signum}")


def run_bench(bench, steps):
    """Runs `steps()` for a benchmark (driver.py's or peers.py's): generates its data first,
    turns SIGTERM and SIGINT into a stop, and stops every process it started, whatever
    happens. Returns the exit status."""
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print("generating data", flush=True)
        bench.generate()
        steps()
    except Stop as e:
        print(f"stopped ({e})", file=sys.stderr)
        return 130
    finally:
        bench.procs.stop_all()
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid, key):
    """A kB value of /proc/<pid>/status (VmHWM, VmRSS), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


class Processes:
    """Starts processes, remembers their pids, stops them all."""

    def __init__(self, workdir):
        self.pidfile = os.path.join(workdir, "pids")
        self.running = []

    def start(self, argv, log):
        out = open(log, "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.running.append(p)
        with open(self.pidfile, "a") as f:
            f.write(f"{p.pid}\n")
        return p

    def stop(self, p, timeout=60):
        """Stops `p` (SIGTERM, then SIGKILL after `timeout` s); returns its peak RSS (VmHWM, MiB)
        as last seen while it shut down, since closing the outbox (WAL checkpoint) may still
        allocate."""
        peak = None
        if p.poll() is None:
            try:  # read before the signal too: a process that exits at once leaves no VmHWM to read
                peak = proc_status(p.pid, "VmHWM")
            except (OSError, ValueError):
                pass
            p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while p.poll() is None and time.monotonic() < deadline:
                try:
                    peak = proc_status(p.pid, "VmHWM") or peak
                except (OSError, ValueError):
                    pass
                time.sleep(0.005)
            if p.poll() is None:
                p.kill()
            p.wait()
        if p in self.running:
            self.running.remove(p)
        return peak

    def stop_all(self):
        for p in list(self.running):
            self.stop(p, timeout=10)


def wait_for(predicate, timeout, what, interval=0.02, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with status {process.returncode}")
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def log_contains(path, text):
    try:
        with open(path, "rb") as f:
            return text.encode() in f.read()
    except FileNotFoundError:
        return False


def log_count(path, text):
    """How many times `text` occurs in the file at `path` (0 when there is none)."""
    try:
        with open(path, "rb") as f:
            return f.read().count(text.encode())
    except FileNotFoundError:
        return 0


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def hub_events(port):
    """Documents stored at the hub (the agent's own heartbeats left out)."""
    try:
        stats = http_json(f"http://127.0.0.1:{port}/v1/stats")
    except OSError:
        return -1
    return stats["events"] - stats.get("types", {}).get("outpost.agent.heartbeat", 0)


def agent_config_text(run, hub_url, token_file, settle, log_level, compression="", max_file_size=None):
    """The benchmarks' agent: one drop directory under `run` (IDoc XML, archived), posting to
    `hub_url`; hub.compression written only when given (agents older than the key reject it)."""
    size = f"    max_file_size: {max_file_size}\n" if max_file_size else ""
    coding = f"  compression: {compression}\n" if compression else ""
    return f"""agent:
  id: bench-agent
  region: bench
  data_dir: {run}/data
sources:
  - name: drop
    type: file_drop
    path: {run}/drop
    include: ["*.xml"]
    format: idoc-xml
    settle: {settle}
    archive_dir: {run}/archive
    error_dir: {run}/error
{size}hub:
  url: {hub_url}
  token_file: {token_file}
{coding}outbox:
  high_watermark: 8GiB
  low_watermark: 6GiB
  min_free_disk: 1GiB
admin:
  listen: null
logging:
  level: {log_level}
"""


class Bench:
    def __init__(self, args):
        self.a = args
        self.work = args.workdir
        self.bin = args.bin
        self.procs = Processes(self.work)
        self.results = {}

    # ---- data ---------------------------------------------------------------------------

    def generate(self):
        self.set_dir = os.path.join(self.work, "data", "set")
        info = self.run_generator(["--out", self.set_dir, "--files", str(self.a.files), "--per-file", str(self.a.per_file)])
        self.set_files = sorted(os.listdir(self.set_dir))
        self.set_idocs, self.set_bytes = info["idocs"], info["bytes"]
        self.results["data_set"] = info
        if self.a.big_bytes:
            self.big_dir = os.path.join(self.work, "data", "big")
            self.big = self.run_generator(["--out", self.big_dir, "--single-file-bytes", str(self.a.big_bytes)])
            self.results["big_file"] = self.big

    def run_generator(self, extra):
        out = subprocess.run([sys.executable, os.path.join(HERE, "gen_idocs.py")] + extra,
                             check=True, capture_output=True, text=True).stdout
        info = json.loads(out)
        print(f"  generated {info['files']} file(s), {info['idocs']} IDocs, {info['bytes'] / 1e6:.1f} MB "
              f"({info['bytes'] / info['idocs']:.0f} B per IDoc)", flush=True)
        return info

    # ---- configuration ------------------------------------------------------------------

    def agent_config(self, run, hub_port, token_file, max_file_size="256MiB"):
        for d in ("drop", "archive", "error", "data", "staging"):
            os.makedirs(os.path.join(run, d), exist_ok=True)
        path = os.path.join(run, "outpost.yaml")
        with open(path, "w") as f:
            f.write(agent_config_text(run, f"http://127.0.0.1:{hub_port}/v1/events", token_file, self.a.settle,
                                      self.a.log_level, self.a.hub_compression, max_file_size))
        return path

    def mapping_line(self):
        # mapping: is written only when asked for: hubs older than canonical mapping reject it.
        return f"mapping:\n  enabled: {'true' if self.a.hub_mapping == 'on' else 'false'}\n" if self.a.hub_mapping else ""

    def token(self, run):
        token = secrets.token_hex(24)
        path = os.path.join(run, "agent.token")
        with open(path, "w") as f:
            f.write(token + "\n")
        os.chmod(path, 0o600)
        return path, hashlib.sha256(token.encode()).hexdigest()

    def start_hub(self, run, token_sha):
        port = free_port()
        cfg = os.path.join(run, "outpost-hub.yaml")
        with open(cfg, "w") as f:
            f.write(f"""listen: 127.0.0.1:{port}
storage:
  sqlite: {run}/hub/hub.sqlite
read_access: open
{self.mapping_line()}agents:
  - id: bench-agent
    region: bench
    token_sha256: {token_sha}
""")
        hub = self.procs.start([os.path.join(self.bin, "outpost-hub"), "serve", "--config", cfg, "--log-level", "warning"],
                               os.path.join(run, "hub.log"))
        wait_for(lambda: hub_events(port) == 0, 30, "the hub to answer /v1/stats", 0.05, hub)
        return hub, port

    def start_agent(self, run, cfg):
        log = os.path.join(run, "agent.log")
        self.peak_anon = self.peak_file = 0.0
        prefix = self.a.agent_prefix.split() if self.a.agent_prefix else []
        agent = self.procs.start(prefix + [os.path.join(self.bin, "outpost"), "run", "--config", cfg], log)
        wait_for(lambda: log_contains(log, "msg=source.started"), 30, "the agent's file drop source", 0.02, agent)
        return agent

    def outbox_status(self, cfg):
        out = subprocess.run([os.path.join(self.bin, "outpost"), "status", "--config", cfg, "--json"],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    # ---- one measured pass --------------------------------------------------------------

    def drop_and_measure(self, run, names, source_dir, link, agent, hub_port=None, expected=0, timeout=1800):
        """Stages `names`, renames them into the drop directory, and times ingest (drop empty)
        and, with a hub, end-to-end (hub counts `expected` events). Also samples the agent's
        anonymous (heap) and file-backed (code, libraries) resident memory every 50 ms."""
        staging, drop = os.path.join(run, "staging"), os.path.join(run, "drop")
        for n in names:
            (os.link if link else shutil.copyfile)(os.path.join(source_dir, n), os.path.join(staging, n))
        t0 = time.monotonic()
        for n in names:
            os.rename(os.path.join(staging, n), os.path.join(drop, n))
        ingest = e2e = None
        next_stats = next_sample = t0
        deadline = t0 + timeout
        while ingest is None or (hub_port and e2e is None):
            now = time.monotonic()
            if now > deadline:
                raise RuntimeError(f"timed out after {timeout}s (ingest={ingest}, e2e={e2e}); see {run}/*.log")
            if now >= next_sample:
                next_sample = now + 0.05
                self.sample_memory(agent)
            if ingest is None and not os.listdir(drop):
                ingest = now - t0
            if hub_port and e2e is None and now >= next_stats:
                next_stats = now + self.a.stats_interval
                if hub_events(hub_port) >= expected:
                    e2e = time.monotonic() - t0
            time.sleep(0.005)
        return ingest, e2e

    def sample_memory(self, agent):
        try:
            anon, files = proc_status(agent.pid, "RssAnon"), proc_status(agent.pid, "RssFile")
        except OSError:
            return
        self.peak_anon = max(self.peak_anon, anon or 0)
        self.peak_file = max(self.peak_file, files or 0)

    def check_outcome(self, run, cfg, expected_pending):
        errors = [n for n in os.listdir(os.path.join(run, "error"))]
        if errors:
            raise RuntimeError(f"files were quarantined: {errors[:3]}; see {run}/error")
        if expected_pending is not None:
            st = self.outbox_status(cfg)
            # The agent's heartbeats (one at start, one per state change) wait in the outbox too.
            if not expected_pending <= st["pending_events"] <= expected_pending + 5:
                raise RuntimeError(f"outbox holds {st['pending_events']} pending events, expected {expected_pending} (+ heartbeats)")

    # ---- measurements -------------------------------------------------------------------

    def ceiling(self):
        paths = [os.path.join(self.set_dir, n) for n in self.set_files]
        times = []
        for _ in range(self.a.runs):
            t0 = time.monotonic()
            subprocess.run(["xmllint", "--stream", "--noout"] + paths, check=True)
            times.append(time.monotonic() - t0)
        t = statistics.median(times)
        self.results["xmllint"] = self.rates(t, times, self.set_idocs, self.set_bytes)
        self.report("xmllint --stream", self.results["xmllint"])

    def ingest(self):
        runs = []
        for i in range(self.a.runs):
            run = os.path.join(self.work, f"ingest-{i + 1}")
            os.makedirs(run)
            token_file, _ = self.token(run)
            cfg = self.agent_config(run, free_port(), token_file)  # nothing listens there: the hub is down
            agent = self.start_agent(run, cfg)
            try:
                cpu0 = cpu_seconds(agent.pid)
                t, _ = self.drop_and_measure(run, self.set_files, self.set_dir, link=False, agent=agent)
                cpu = cpu_seconds(agent.pid) - cpu0
            finally:
                rss = self.procs.stop(agent)
            self.check_outcome(run, cfg, self.set_idocs)
            runs.append({"seconds": t, "agent_cpu_seconds": cpu, "agent_peak_rss_mib": rss,
                         "agent_peak_anon_mib": self.peak_anon, "agent_peak_file_mib": self.peak_file})
            self.cleanup(run)
        self.results["ingest"] = self.summarise(runs, self.set_idocs, self.set_bytes)
        self.report("ingest (hub down)", self.results["ingest"])

    def end_to_end(self):
        runs = []
        for i in range(self.a.runs):
            run = os.path.join(self.work, f"e2e-{i + 1}")
            os.makedirs(os.path.join(run, "hub"))
            token_file, token_sha = self.token(run)
            hub, port = self.start_hub(run, token_sha)
            try:
                cfg = self.agent_config(run, port, token_file)
                agent = self.start_agent(run, cfg)
                try:
                    cpu0, hub_cpu0 = cpu_seconds(agent.pid), cpu_seconds(hub.pid)
                    ingest, t = self.drop_and_measure(run, self.set_files, self.set_dir, link=False, agent=agent,
                                                      hub_port=port, expected=self.set_idocs)
                    cpu, hub_cpu = cpu_seconds(agent.pid) - cpu0, cpu_seconds(hub.pid) - hub_cpu0
                finally:
                    rss = self.procs.stop(agent)
            finally:
                hub_rss = self.procs.stop(hub)
            self.check_outcome(run, cfg, None)
            runs.append({"seconds": t, "ingest_seconds": ingest, "agent_cpu_seconds": cpu, "hub_cpu_seconds": hub_cpu,
                         "agent_peak_rss_mib": rss, "hub_peak_rss_mib": hub_rss,
                         "agent_peak_anon_mib": self.peak_anon, "agent_peak_file_mib": self.peak_file})
            self.cleanup(run)
        self.results["e2e"] = self.summarise(runs, self.set_idocs, self.set_bytes)
        self.report("end to end (hub on 127.0.0.1)", self.results["e2e"])

    def big_file(self):
        runs = []
        name = os.listdir(self.big_dir)[0]
        for i in range(self.a.big_runs):
            run = os.path.join(self.work, f"big-{i + 1}")
            os.makedirs(run)
            token_file, _ = self.token(run)
            cfg = self.agent_config(run, free_port(), token_file, max_file_size="4GiB")
            agent = self.start_agent(run, cfg)
            try:
                cpu0 = cpu_seconds(agent.pid)
                # Copied into staging (before the clock starts), not hard-linked: the agent
                # quarantines files with more than one link.
                t, _ = self.drop_and_measure(run, [name], self.big_dir, link=False, agent=agent)
                cpu = cpu_seconds(agent.pid) - cpu0
            finally:
                rss = self.procs.stop(agent)
            self.check_outcome(run, cfg, self.big["idocs"])
            runs.append({"seconds": t, "agent_cpu_seconds": cpu, "agent_peak_rss_mib": rss,
                         "agent_peak_anon_mib": self.peak_anon, "agent_peak_file_mib": self.peak_file})
            self.cleanup(run)
        self.results["big"] = self.summarise(runs, self.big["idocs"], self.big["bytes"])
        self.report(f"ingest of one {self.big['bytes'] / 2**30:.2f} GiB file", self.results["big"])

    # ---- helpers ------------------------------------------------------------------------

    def cleanup(self, run):
        if not self.a.keep:
            shutil.rmtree(run, ignore_errors=True)

    @staticmethod
    def rates(t, times, idocs, nbytes):
        return {"seconds": t, "all_seconds": times, "idocs_per_s": idocs / t, "mb_per_s": nbytes / t / 1e6}

    def summarise(self, runs, idocs, nbytes):
        times = [r["seconds"] for r in runs]
        out = self.rates(statistics.median(times), times, idocs, nbytes)
        for key in runs[0]:
            if key != "seconds":
                out[key] = statistics.median(r[key] for r in runs)
        if "ingest_seconds" in out:
            out["ingest_idocs_per_s"] = idocs / out["ingest_seconds"]
        out["runs"] = runs
        return out

    def report(self, label, r):
        extra = ""
        if "agent_peak_rss_mib" in r:
            extra = (f", agent peak RSS {r['agent_peak_rss_mib']:.1f} MiB (sampled peaks: heap {r['agent_peak_anon_mib']:.1f}"
                     f" MiB, code and libraries {r['agent_peak_file_mib']:.1f} MiB)")
        if "hub_peak_rss_mib" in r:
            extra += f", hub peak RSS {r['hub_peak_rss_mib']:.1f} MiB"
        if r.get("hub_cpu_seconds"):
            extra += f", hub CPU {self.hub_us_per_event(r):.1f} µs per IDoc"
        if r.get("agent_cpu_seconds"):
            extra += f", {self.per_cpu_second(r):,.0f} IDocs per agent CPU-second"
        runs = ", ".join(f"{s:.2f}" for s in r["all_seconds"])
        print(f"  {label}: {r['idocs_per_s']:,.0f} IDocs/s, {r['mb_per_s']:.1f} MB/s (median of [{runs}] s){extra}",
              flush=True)

    @staticmethod
    def per_cpu_second(r):
        """IDocs per second of agent CPU time (user + system), a figure less sensitive to
        other load on the machine than the wall-clock rate."""
        if not r["agent_cpu_seconds"]:
            return 0.0  # not measurable: the agent ran under --agent-prefix (perf), which owns the pid
        return r["idocs_per_s"] * r["seconds"] / r["agent_cpu_seconds"]

    @staticmethod
    def hub_us_per_event(r):
        """The hub's CPU time (user + system) per IDoc stored, in microseconds."""
        return r["hub_cpu_seconds"] / (r["idocs_per_s"] * r["seconds"]) * 1e6

    def summary(self):
        r = self.results
        rows = [("measurement", "IDocs/s", "MB/s", "agent peak RSS", "IDocs/agent CPU-s", "note")]
        ceiling = r.get("xmllint", {}).get("idocs_per_s")

        def pct(v):
            return f"{v / ceiling * 100:.0f}% of xmllint" if ceiling else ""

        if "xmllint" in r:
            x = r["xmllint"]
            rows.append(("xmllint --stream (ceiling)", f"{x['idocs_per_s']:,.0f}", f"{x['mb_per_s']:.1f}", "", "",
                         "parse only"))
        if "ingest" in r:
            x = r["ingest"]
            rows.append(("ingest: drop -> outbox commit", f"{x['idocs_per_s']:,.0f}", f"{x['mb_per_s']:.1f}",
                         f"{x['agent_peak_rss_mib']:.1f} MiB", f"{self.per_cpu_second(x):,.0f}", pct(x["idocs_per_s"])))
        if "e2e" in r:
            x = r["e2e"]
            rows.append(("end to end: drop -> hub stored", f"{x['idocs_per_s']:,.0f}", f"{x['mb_per_s']:.1f}",
                         f"{x['agent_peak_rss_mib']:.1f} MiB", f"{self.per_cpu_second(x):,.0f}",
                         f"hub peak RSS {x['hub_peak_rss_mib']:.1f} MiB, hub CPU {self.hub_us_per_event(x):.1f} µs per IDoc"))
        if "big" in r:
            x = r["big"]
            rows.append((f"ingest of one {r['big_file']['bytes'] / 2**30:.2f} GiB file", f"{x['idocs_per_s']:,.0f}",
                         f"{x['mb_per_s']:.1f}", f"{x['agent_peak_rss_mib']:.1f} MiB", f"{self.per_cpu_second(x):,.0f}",
                         f"{x['seconds']:.1f} s"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        print()
        for j, row in enumerate(rows):
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            if j == 0:
                print("  ".join("-" * w for w in widths))
        with open(os.path.join(self.work, "results.json"), "w") as f:
            json.dump(r, f, indent=2)
        if self.a.keep:
            print(f"\nfull results: {os.path.join(self.work, 'results.json')}")
        else:
            print("\n(--keep keeps the work directory with results.json and the logs)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--per-file", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--big-bytes", type=int, default=1 << 30)
    p.add_argument("--big-runs", type=int, default=1)
    p.add_argument("--settle", default="100ms")
    p.add_argument("--stats-interval", type=float, default=0.1)
    p.add_argument("--log-level", default="info")  # the agent logs "source.started" at info
    p.add_argument("--only", default="ceiling,ingest,e2e,big")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--hub-compression", default="",
                   help="the agent's hub.compression (gzip, zstd, none); not written when empty")
    p.add_argument("--hub-mapping", default="", choices=["", "on", "off"],
                   help="the hub's mapping.enabled; not written when empty")
    p.add_argument("--agent-prefix", default="",
                   help="profiling: command to run the agent under, e.g. 'perf record -g -o FILE --' "
                        "(RSS and CPU figures then describe that wrapper)")
    a = p.parse_args()
    b = Bench(a)
    only = set(a.only.split(","))
    if "big" not in only:
        a.big_bytes = 0

    def steps():
        for step in ("ceiling", "ingest", "e2e", "big"):
            if step in only and (step != "big" or a.big_bytes):
                getattr(b, {"ceiling": "ceiling", "ingest": "ingest", "e2e": "end_to_end", "big": "big_file"}[step])()
        b.summary()

    return run_bench(b, steps)


if __name__ == "__main__":
    sys.exit(main())
