#!/usr/bin/env python3
"""Outpost side by side with syslog-ng: see scripts/bench-peers.sh (which installs syslog-ng,
builds the release agent and calls this).

Data (made once per invocation, under WORKDIR/data):
  idocs/  FILES files of PER_FILE ORDERS05 IDocs each (scripts/bench/gen_idocs.py)
  lines/  the same IDocs, one per line: each IDoc's newlines turned into spaces, so the line
          workload has the same count and the same sizes, record for record
Each round runs syslog-ng, then Outpost, each in a fresh run directory (its state, outbox or
disk buffer, persist file), both delivering to one receiver (scripts/bench/receiver.py) on
127.0.0.1. The program is started and ready first; its files are copied into a staging
directory on the same file system and synced; the clock starts at the first rename into the
directory the program reads and stops at the receiver's last record. Then the program is left
idle for --idle seconds: idle RSS (VmRSS) and the CPU it used meanwhile. Peak RSS is VmHWM
read just before the stop signal; CPU is utime+stime (+ waited-for children) from /proc; the
bytes written are write_bytes of /proc/<pid>/io over the run (counted as pages are dirtied).
With --tail S, the idle reading begins S seconds after the last record instead: the CPU of
those S seconds (the agent recording its last deliveries, giving back the run's memory) is
printed apart as the run's tail, and the idle CPU and RSS are those of the --idle seconds after.

With --halves, each round also runs Outpost's two halves one after the other in a fresh run
directory: the drop directory into the outbox with the hub unreachable (a closed port of
127.0.0.1), then, once every file is archived, the agent killed and started again on that
outbox with the receiver as its hub, until the receiver has every record. Each half prints its
time, the agent's CPU, the bytes it wrote and the share of the machine's CPU left idle meanwhile
(/proc/stat), so
that the side-by-side time can be read against the sum of its halves.

Then (unless --no-ingest) the ingest-alone measurement of scripts/bench/driver.py on the same
IDoc files: `xmllint --stream` (its 'ceiling') and Outpost with the hub down (its 'ingest').
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import driver  # noqa: E402  (Processes, proc_status, wait_for, log_contains, free_port, Bench)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime + cutime + cstime (children waited for) of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


def http_json(url, data=None, timeout=5):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def bytes_written(pid):
    """The bytes `pid` has sent (or dirtied for) the storage layer: write_bytes of /proc/<pid>/io,
    counted when the page is dirtied, so a write-back that comes later is counted already."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    raise RuntimeError(f"no write_bytes in /proc/{pid}/io")


def machine_ticks():
    """(idle, total) jiffies of all CPUs from /proc/stat; idle counts iowait too."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return values[3] + values[4], sum(values[:8])


def idle_share(before, after):
    """The share of the machine's CPU time left idle between two machine_ticks() readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else 0.0


class Peers:
    def __init__(self, a):
        self.a = a
        self.work = a.workdir
        self.procs = driver.Processes(self.work)
        self.rounds = []

    # ---- data ---------------------------------------------------------------------------

    def generate(self):
        self.idoc_dir = os.path.join(self.work, "data", "idocs")
        self.line_dir = os.path.join(self.work, "data", "lines")
        out = subprocess.run([sys.executable, os.path.join(HERE, "gen_idocs.py"), "--out", self.idoc_dir,
                              "--files", str(self.a.files), "--per-file", str(self.a.per_file)],
                             check=True, capture_output=True, text=True).stdout
        self.info = json.loads(out)
        os.makedirs(self.line_dir)
        self.idoc_files = sorted(os.listdir(self.idoc_dir))
        self.line_files = []
        line_bytes = lines = 0
        for n in self.idoc_files:
            with open(os.path.join(self.idoc_dir, n), "rb") as f:
                text = f.read()
            start = text.index(b"  <IDOC BEGIN")
            end = text.rindex(b"</IDOC>\n") + len(b"</IDOC>\n")
            records = [r + b"</IDOC>" for r in text[start:end].split(b"</IDOC>\n")[:-1]]
            body = b"".join(r.replace(b"\n", b" ") + b"\n" for r in records)
            name = n[:-4] + ".log"
            with open(os.path.join(self.line_dir, name), "wb") as f:
                f.write(body)
            self.line_files.append(name)
            line_bytes += len(body)
            lines += len(records)
        if lines != self.info["idocs"]:
            raise RuntimeError(f"{lines} lines made from {self.info['idocs']} IDocs")
        self.records = lines
        self.line_bytes = line_bytes
        print(f"  {self.info['files']} files of {self.a.per_file} records: {self.records:,} ORDERS05 IDocs, "
              f"{self.info['bytes'] / 1e6:.1f} MB ({self.info['bytes'] / self.records:,.0f} B per IDoc with the files' "
              f"XML heads); {self.records:,} lines, {line_bytes / 1e6:.1f} MB ({line_bytes / lines:,.0f} B per line, "
              f"newline included)", flush=True)

    # ---- receiver -----------------------------------------------------------------------

    def start_receiver(self):
        port_file = os.path.join(self.work, "receiver.port")
        self.receiver = self.procs.start([sys.executable, os.path.join(HERE, "receiver.py"), "--port-file", port_file],
                                         os.path.join(self.work, "receiver.log"))
        driver.wait_for(lambda: os.path.exists(port_file), 10, "the receiver", 0.02, self.receiver)
        self.port = int(open(port_file).read())
        self.url = f"http://127.0.0.1:{self.port}"

    def receiver_stats(self):
        return http_json(self.url + "/stats")

    def receiver_reset(self):
        http_json(self.url + "/reset", data=b"")

    def load_test(self, seconds=3.0, threads=2):
        """The receiver alone: Python clients post syslog-ng-shaped (1,000 lines) and
        Outpost-shaped (500 events) bodies over keep-alive connections for `seconds` each."""
        import http.client
        import threading
        line = open(os.path.join(self.line_dir, self.line_files[0]), "rb").readline()
        event = json.dumps({"specversion": "1.0", "id": "x", "source": "s", "type": "sap.idoc.ORDERS",
                            "data": line.decode()}, separators=(",", ":")).encode()
        shapes = [("lines, 1,000 per request", line * 1000, "text/plain", 1000),
                  ("CloudEvents, 500 per batch", b"[" + b",".join([event] * 500) + b"]",
                   "application/cloudevents-batch+json", 500)]
        results = {}
        for label, body, ctype, per in shapes:
            self.receiver_reset()
            stop = time.monotonic() + seconds

            def client():
                c = http.client.HTTPConnection("127.0.0.1", self.port)
                while time.monotonic() < stop:
                    c.request("POST", "/v1/events", body=body, headers={"Content-Type": ctype})
                    r = c.getresponse()
                    r.read()
                    if r.status != 200:
                        raise RuntimeError(f"receiver answered {r.status}")
                c.close()

            cpu0 = cpu_seconds(self.receiver.pid)
            t0 = time.monotonic()
            ts = [threading.Thread(target=client) for _ in range(threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            t = time.monotonic() - t0
            st = self.receiver_stats()
            cpu = cpu_seconds(self.receiver.pid) - cpu0
            if st["records"] % per:
                raise RuntimeError(f"receiver counted {st['records']} records, not a multiple of {per}")
            results[label] = {"records_per_s": st["records"] / t, "mb_per_s": st["bytes"] / t / 1e6,
                              "records_per_receiver_cpu_s": st["records"] / cpu if cpu else 0}
            print(f"  receiver alone, {label}: {st['records'] / t:,.0f} records/s, {st['bytes'] / t / 1e6:.0f} MB/s "
                  f"({st['records'] / cpu if cpu else 0:,.0f} records per receiver CPU-second)", flush=True)
        self.receiver_reset()
        return results

    # ---- the programs -------------------------------------------------------------------

    def syslog_ng_config(self, run):
        src = os.path.join(run, "in")
        buf = os.path.join(run, "buffer")
        os.makedirs(src)
        os.makedirs(buf)
        cfg = os.path.join(run, "syslog-ng.conf")
        a = self.a
        with open(cfg, "w") as f:
            f.write(f"""@version: 3.38
options {{
  stats-freq(0); threaded(yes); use-dns(no); use-fqdn(no); chain-hostnames(no); keep-hostname(yes);
  log-msg-size(65536);
}};
{self.syslog_source(src)}
destination d_http {{
  http(
    url("{self.url}/v1/events") method("POST")
    headers("Content-Type: text/plain")
    body("${{MSG}}") delimiter("\\n") body-suffix("\\n")
    batch-lines({a.syslog_batch_lines}) batch-timeout({a.syslog_batch_timeout_ms})
    workers({a.syslog_workers})
    disk-buffer(reliable(yes) dir("{buf}") disk-buf-size({a.syslog_disk_buf_bytes}) mem-buf-size({a.syslog_mem_buf_bytes}))
  );
}};
log {{ source(s_lines); destination(d_http); flags(flow-control); }};
""")
        return cfg, src

    def syslog_source(self, src):
        """`wildcard-file` (default): one source over the directory, new files found through
        inotify. `files`: one file() source per file name, each polled (follow-freq(1)) until
        its file appears."""
        a = self.a
        if a.syslog_source == "files":
            names = "".join(f'  file("{src}/{n}" follow-freq(1) log-iw-size(1000) log-fetch-limit({a.syslog_fetch_limit}) flags(no-parse));\n'
                            for n in self.line_files)
            return f"source s_lines {{\n{names}}};"
        files = max(200, 2 * a.files)
        return f"""source s_lines {{
  wildcard-file(
    base-dir("{src}") filename-pattern("*.log") recursive(no)
    monitor-method("auto") follow-freq(1) max-files({files})
    log-iw-size({1000 * files}) log-fetch-limit({a.syslog_fetch_limit})
    flags(no-parse)
  );
}};"""

    def start_syslog_ng(self, run):
        cfg, src = self.syslog_ng_config(run)
        log = os.path.join(run, "syslog-ng.log")
        p = self.procs.start(["syslog-ng", "-F", "-e", "--no-caps", "-f", cfg,
                              "-R", os.path.join(run, "persist"), "-p", os.path.join(run, "pid"),
                              "-c", os.path.join(run, "ctl")], log)
        driver.wait_for(lambda: driver.log_contains(log, "syslog-ng starting up"), 30, "syslog-ng", 0.02, p)
        return p, src, self.line_dir, self.line_files

    def start_outpost(self, run, hub_url=None, fresh=True):
        """Starts the agent on `run` (a fresh one: its directories made), delivering to
        `hub_url` (the receiver when None)."""
        if fresh:
            for d in ("drop", "archive", "error", "data"):
                os.makedirs(os.path.join(run, d))
        token = os.path.join(run, "agent.token")
        with open(token, "w") as f:
            f.write("peers-benchmark-token\n")
        os.chmod(token, 0o600)
        cfg = os.path.join(run, "outpost.yaml")
        with open(cfg, "w") as f:
            # compression none: the receiver counts events in the JSON as sent.
            f.write(driver.agent_config_text(run, f"{hub_url or self.url}/v1/events", token, self.a.settle, "info",
                                             compression="none"))
        log = os.path.join(run, "outpost.log")
        starts = driver.log_count(log, "msg=source.started") if os.path.exists(log) else 0
        p = self.procs.start([self.a.outpost, "run", "--config", cfg], log)
        driver.wait_for(lambda: driver.log_count(log, "msg=source.started") > starts, 30,
                        "the agent's file drop source", 0.02, p)
        return p, os.path.join(run, "drop"), self.idoc_dir, self.idoc_files

    # ---- one measured run ---------------------------------------------------------------

    def stage(self, source, names, staging):
        """Copies the files into `staging` (copies, not links: the agent quarantines files with
        more than one link) and syncs them, so that their write-back is not in the measured run."""
        for n in names:
            shutil.copyfile(os.path.join(source, n), os.path.join(staging, n))
        os.sync()
        time.sleep(1)

    @staticmethod
    def archived(run):
        """How many files the agent of `run` has archived (each once its events were committed
        and synced)."""
        return sum(len(files) for _, _, files in os.walk(os.path.join(run, "archive")))

    def all_received(self):
        """The receiver's stats once it has every record, else None."""
        st = self.receiver_stats()
        return st if st["records"] >= self.records else None

    def until(self, p, program, run, done, progress=None, every=0.05, sample=None):
        """Polls `done()` every `every` s until it returns a value, which it returns; fails when
        `p` exits first or --timeout passes (saying `progress()`, else the records received)."""
        deadline = time.monotonic() + self.a.timeout
        while True:
            if sample:
                sample()
            result = done()
            if result is not None:
                return result
            if p.poll() is not None:
                raise RuntimeError(f"{program} exited with status {p.returncode}; see {run}")
            if time.monotonic() > deadline:
                said = progress() if progress else f"{self.receiver_stats()['records']} of {self.records} records"
                raise RuntimeError(f"{program}: {said} after {self.a.timeout}s; see {run}")
            time.sleep(every)

    def measure(self, program, rnd):
        run = os.path.join(self.work, f"round-{rnd}-{program}")
        os.makedirs(run)
        staging = os.path.join(run, "staging")
        os.makedirs(staging)
        self.receiver_reset()
        p, target, source, names = (self.start_syslog_ng if program == "syslog-ng" else self.start_outpost)(run)
        try:
            self.stage(source, names, staging)
            cpu0, written0 = cpu_seconds(p.pid), bytes_written(p.pid)
            t0 = time.monotonic()
            for n in names:
                os.rename(os.path.join(staging, n), os.path.join(target, n))
            peaks = {"RssAnon": 0.0, "RssFile": 0.0}

            def sample():  # sampled peaks of anonymous (heap, buffers) and file-backed (binary, libraries) RSS
                try:
                    for key in peaks:
                        peaks[key] = max(peaks[key], driver.proc_status(p.pid, key) or 0)
                except OSError:
                    pass

            # Outpost: how far the forwarding trails the ingest (each file is archived once its
            # events are committed and synced), and when the last file was archived.
            flow = {"behind": 0, "ingested_at": None}

            def received():
                st = self.receiver_stats()
                if program == "outpost":
                    files = self.archived(run)
                    flow["behind"] = max(flow["behind"], files * self.a.per_file - st["records"])
                    if files >= len(names) and flow["ingested_at"] is None:
                        flow["ingested_at"] = time.monotonic() - t0
                return st if st["records"] >= self.records else None

            st = self.until(p, program, run, received, sample=sample)
            heap, code = peaks["RssAnon"], peaks["RssFile"]
            busy_cpu = cpu_seconds(p.pid) - cpu0
            written = bytes_written(p.pid) - written0
            seconds = st["last"] - t0
            rss_done = driver.proc_status(p.pid, "VmRSS")
            # the run's tail (--tail), then idle: nothing more to read or send
            time.sleep(self.a.tail)
            tail_cpu = cpu_seconds(p.pid) - cpu0 - busy_cpu
            time.sleep(self.a.idle)
            idle_cpu = cpu_seconds(p.pid) - cpu0 - busy_cpu - tail_cpu
            idle_rss = driver.proc_status(p.pid, "VmRSS")
            idle_anon = driver.proc_status(p.pid, "RssAnon")
            if self.a.breakdown and program == "outpost":
                subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "rss_breakdown.py"),
                                "--exe", os.path.abspath(self.a.outpost), str(p.pid)], check=False)
            peak = driver.proc_status(p.pid, "VmHWM")
            final = self.receiver_stats()
        finally:
            peak_stop = self.procs.stop(p)
        if final["records"] != self.records:
            raise RuntimeError(f"{program}: the receiver counted {final['records']} records, expected {self.records}")
        if program == "outpost" and os.listdir(os.path.join(run, "error")):
            raise RuntimeError(f"outpost quarantined files; see {run}/error")
        r = {"program": program, "round": rnd, "seconds": seconds, "records_per_s": self.records / seconds,
             "peak_rss_mib": peak, "peak_rss_at_stop_mib": peak_stop, "rss_when_done_mib": rss_done,
             "cpu_seconds": busy_cpu, "idle_rss_mib": idle_rss, "idle_cpu_seconds": idle_cpu, "tail_cpu_seconds": tail_cpu,
             "bytes_written": written,
             "requests": final["requests"], "heartbeats": final["heartbeats"],
             "peak_anon_mib": heap, "peak_file_mib": code, "idle_anon_mib": idle_anon,
             "ingested_seconds": flow["ingested_at"], "forwarding_behind_records": flow["behind"]}
        print(f"  round {rnd} {program:9}: {r['records_per_s']:,.0f} records/s ({seconds:.2f} s), peak RSS {peak:.1f} MiB, "
              f"CPU {busy_cpu:.2f} s ({self.records / busy_cpu if busy_cpu else 0:,.0f} records per CPU-s), "
              f"{written / 1e6:,.1f} MB written to storage, "
              + (f"tail CPU {tail_cpu:.2f} s in {self.a.tail:g} s, " if self.a.tail else "")
              + f"idle RSS {idle_rss:.1f} MiB after {self.a.idle:g} s (idle CPU {idle_cpu:.2f} s), "
              f"{final['requests']} requests; sampled peaks: heap {heap:.1f} MiB, code and libraries {code:.1f} MiB; "
              f"idle heap {idle_anon:.1f} MiB"
              + (f"; every file archived at {flow['ingested_at']:.2f} s, the forwarding at most "
                 f"{flow['behind']:,} records behind the archived files" if flow["ingested_at"] is not None else ""),
              flush=True)
        if not self.a.keep:
            shutil.rmtree(run, ignore_errors=True)
        return r

    def peers(self):
        for rnd in range(1, self.a.rounds + 1):
            pair = {}
            for program in self.a.programs.split(","):
                pair[program] = self.measure(program, rnd)
            if self.a.halves:
                pair["halves"] = self.halves(rnd)
            self.rounds.append(pair)

    # ---- Outpost's two halves, one after the other (--halves) -----------------------------

    def halves(self, rnd):
        run = os.path.join(self.work, f"round-{rnd}-halves")
        os.makedirs(run)
        staging = os.path.join(run, "staging")
        os.makedirs(staging)
        self.receiver_reset()
        # Nothing listens on a port just freed: every delivery attempt is refused at once.
        p, target, source, names = self.start_outpost(run, hub_url=f"http://127.0.0.1:{driver.free_port()}")
        try:
            self.stage(source, names, staging)
            cpu0, written0, ticks0, t0 = cpu_seconds(p.pid), bytes_written(p.pid), machine_ticks(), time.monotonic()
            for n in names:
                os.rename(os.path.join(staging, n), os.path.join(target, n))
            self.until(p, "outpost", run, lambda: True if self.archived(run) >= len(names) else None,
                       lambda: f"{self.archived(run)} of {len(names)} files archived", every=0.02)
            ingest = {"seconds": time.monotonic() - t0, "cpu_seconds": cpu_seconds(p.pid) - cpu0,
                      "machine_idle": idle_share(ticks0, machine_ticks()), "bytes_written": bytes_written(p.pid) - written0}
            if os.listdir(os.path.join(run, "error")):
                raise RuntimeError(f"outpost quarantined files; see {run}/error")
        finally:
            # Killed: the outbox holds every event already (each file was archived after its
            # commit was synced), and a kill leaves no drain of the refused deliveries to wait for.
            p.kill()
            p.wait()
        self.receiver_reset()
        p, _, _, _ = self.start_outpost(run, hub_url=None, fresh=False)
        try:
            cpu0, written0, ticks0, t0 = cpu_seconds(p.pid), bytes_written(p.pid), machine_ticks(), time.monotonic()
            st = self.until(p, "outpost", run, self.all_received, every=0.02)
            forward = {"seconds": st["last"] - t0, "cpu_seconds": cpu_seconds(p.pid) - cpu0,
                       "machine_idle": idle_share(ticks0, machine_ticks()), "bytes_written": bytes_written(p.pid) - written0}
        finally:
            self.procs.stop(p)
        if st["records"] != self.records:
            raise RuntimeError(f"halves: the receiver counted {st['records']} records, expected {self.records}")
        for name, half in (("ingest alone", ingest), ("forward alone", forward)):
            print(f"  round {rnd} halves, {name:13}: {self.records / half['seconds']:,.0f} records/s "
                  f"({half['seconds']:.2f} s), agent CPU {half['cpu_seconds']:.2f} s, machine idle "
                  f"{100 * half['machine_idle']:.0f}%, {half['bytes_written'] / 1e6:,.1f} MB written to storage", flush=True)
        if not self.a.keep:
            shutil.rmtree(run, ignore_errors=True)
        return {"ingest": ingest, "forward": forward}

    # ---- ingest alone (scripts/bench/driver.py's ceiling and ingest) ----------------------

    def ingest_alone(self):
        # The driver runs `<bin>/outpost`: a binary under another name gets a link of that name.
        bin_dir = os.path.dirname(os.path.abspath(self.a.outpost))
        if os.path.basename(self.a.outpost) != "outpost":
            bin_dir = os.path.join(self.work, "bin")
            os.makedirs(bin_dir, exist_ok=True)
            os.symlink(os.path.abspath(self.a.outpost), os.path.join(bin_dir, "outpost"))
        ns = argparse.Namespace(workdir=os.path.join(self.work, "ingest"), bin=bin_dir,
                                files=self.a.files, per_file=self.a.per_file, runs=self.a.ingest_runs,
                                settle=self.a.settle, log_level="info", keep=self.a.keep, hub_compression="",
                                hub_mapping="", agent_prefix="", stats_interval=0.1)
        os.makedirs(ns.workdir)
        b = driver.Bench(ns)
        self.ingest_bench = b
        b.set_dir, b.set_files = self.idoc_dir, self.idoc_files
        b.set_idocs, b.set_bytes = self.info["idocs"], self.info["bytes"]
        try:
            b.ceiling()
            b.ingest()
        finally:
            b.procs.stop_all()
        return b.results

    # ---- report -------------------------------------------------------------------------

    def table(self, rows, left=2):
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for j, row in enumerate(rows):
            print("  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
            if j == 0:
                print("  ".join("-" * w for w in widths))

    def summary(self, ingest):
        print()
        print(f"{self.records:,} records in {self.a.files} files; records/s from the first file made visible to the "
              f"receiver's last record; idle after {self.a.idle:g} s"
              + (f" that began {self.a.tail:g} s after the last record (the tail before it)" if self.a.tail else ""))
        rows = [("round", "program", "records/s", "seconds", "peak RSS MiB", "heap MiB", "CPU s", "records/CPU-s",
                 "written MB", "idle RSS MiB", "idle CPU s") + (("tail CPU s",) if self.a.tail else ())]
        programs = self.a.programs.split(",")
        for pair in self.rounds:
            for prog in programs:
                r = pair[prog]
                rows.append((str(r["round"]), prog, f"{r['records_per_s']:,.0f}", f"{r['seconds']:.2f}",
                             f"{r['peak_rss_mib']:.1f}", f"{r['peak_anon_mib']:.1f}", f"{r['cpu_seconds']:.2f}",
                             f"{self.records / r['cpu_seconds']:,.0f}", f"{r['bytes_written'] / 1e6:,.1f}",
                             f"{r['idle_rss_mib']:.1f}",
                             f"{r['idle_cpu_seconds']:.2f}")
                            + ((f"{r['tail_cpu_seconds']:.2f}",) if self.a.tail else ()))
        self.table(rows)
        if len(programs) == 2:
            self.ratios()
        if self.a.halves:
            self.halves_table()
        if ingest:
            self.ingest_table(ingest)
        with open(os.path.join(self.work, "results.json"), "w") as f:
            json.dump({"data": self.info, "line_bytes": self.line_bytes, "rounds": self.rounds,
                       "receiver_alone": self.receiver_alone, "ingest_alone": ingest}, f, indent=2)

    def ratios(self):
        print()
        print("Outpost / syslog-ng per round")
        rows = [("round", "records/s", "peak RSS", "CPU s", "idle RSS")]
        left = 1
        ratios = {k: [] for k in ("records_per_s", "peak_rss_mib", "cpu_seconds", "idle_rss_mib")}
        for pair in self.rounds:
            row = [str(pair["outpost"]["round"])]
            for k in ratios:
                v = pair["outpost"][k] / pair["syslog-ng"][k]
                ratios[k].append(v)
                row.append(f"{v:.2f}")
            rows.append(tuple(row))
        rows.append(("median",) + tuple(f"{statistics.median(v):.2f}" for v in ratios.values()))
        self.table(rows, left)

    def halves_table(self):
        print()
        print("Outpost's halves one after the other (--halves), against the side-by-side run of the same round")
        rows = [("round", "ingest records/s", "CPU s", "machine idle", "written MB", "forward records/s", "CPU s",
                 "machine idle", "written MB", "sum of halves s", "side by side s")]
        for pair in self.rounds:
            i, f = pair["halves"]["ingest"], pair["halves"]["forward"]
            whole = pair.get("outpost")
            rows.append((str(whole["round"] if whole else len(rows)),
                         f"{self.records / i['seconds']:,.0f}", f"{i['cpu_seconds']:.2f}", f"{100 * i['machine_idle']:.0f}%",
                         f"{i['bytes_written'] / 1e6:,.1f}",
                         f"{self.records / f['seconds']:,.0f}", f"{f['cpu_seconds']:.2f}", f"{100 * f['machine_idle']:.0f}%",
                         f"{f['bytes_written'] / 1e6:,.1f}",
                         f"{i['seconds'] + f['seconds']:.2f}", f"{whole['seconds']:.2f}" if whole else ""))
        self.table(rows, left=1)

    def ingest_table(self, ingest):
        x, i = ingest["xmllint"], ingest["ingest"]
        print()
        print("ingest alone (scripts/bench/driver.py: ceiling and ingest, hub down), same IDoc files, median of "
              f"{self.a.ingest_runs}")
        self.table([("measurement", "IDocs/s", "MB/s", "peak RSS MiB", "IDocs/CPU-s"),
                    ("xmllint --stream", f"{x['idocs_per_s']:,.0f}", f"{x['mb_per_s']:.1f}", "", ""),
                    ("outpost: drop -> outbox commit", f"{i['idocs_per_s']:,.0f}", f"{i['mb_per_s']:.1f}",
                     f"{i['agent_peak_rss_mib']:.1f}", f"{driver.Bench.per_cpu_second(i):,.0f}")], left=1)
        print(f"outpost ingest / xmllint: {i['idocs_per_s'] / x['idocs_per_s']:.2f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--outpost", required=True, help="the outpost binary")
    p.add_argument("--workdir", required=True)
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--per-file", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--idle", type=float, default=60.0, help="seconds idle before the idle RSS is read")
    p.add_argument("--tail", type=float, default=0.0,
                   help="seconds after the last record before the idle reading begins (their CPU printed apart)")
    p.add_argument("--halves", action="store_true",
                   help="each round, also Outpost's ingest (hub unreachable) and forwarding (outbox full) one after the other")
    p.add_argument("--settle", default="100ms", help="Outpost's settle")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--ingest-runs", type=int, default=3)
    p.add_argument("--no-ingest", action="store_true")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--breakdown", action="store_true", help="print where Outpost's idle RSS is (rss_breakdown.py)")
    p.add_argument("--syslog-batch-lines", type=int, default=1000)
    p.add_argument("--syslog-batch-timeout-ms", type=int, default=100)
    p.add_argument("--programs", default="syslog-ng,outpost", help="measured in this order each round")
    p.add_argument("--syslog-source", choices=["wildcard-file", "files"], default="wildcard-file")
    p.add_argument("--syslog-workers", type=int, default=1)
    p.add_argument("--syslog-fetch-limit", type=int, default=100)
    p.add_argument("--syslog-disk-buf-bytes", type=int, default=1 << 30)
    p.add_argument("--syslog-mem-buf-bytes", type=int, default=10 << 20)
    a = p.parse_args()
    b = Peers(a)

    def steps():
        b.start_receiver()
        b.receiver_alone = b.load_test()
        b.peers()
        b.summary(None if a.no_ingest else b.ingest_alone())

    return driver.run_bench(b, steps)


if __name__ == "__main__":
    sys.exit(main())
