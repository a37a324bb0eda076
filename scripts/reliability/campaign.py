#!/usr/bin/env python3
"""Outpost's reliability campaign: the real `outpost` and `outpost-hub` binaries on loopback,
a fault proxy between them, kill -9 at random instants, hub outages, a full outbox, disk
faults, hostile input, power cuts (power.py, on powercutfs mounts) and thousands of
half-open and slow connections to the hub (attack.py). Every phase ends with
the same check: every IDoc generated is at the hub exactly once, nothing is left in the drop
directory, nothing good was quarantined.

    campaign.py --bin DIR [--short | --long | --power] [--power-cuts N] [--work DIR]
                [--report FILE] [--phases a,b,…] [--seed N]

--power runs only the power phase, with 1,000 cuts unless --power-cuts says otherwise.

Prints one result line per phase and a JSON summary (to --report as well); exits 1 when a
check fails. Only 127.0.0.1 is contacted.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "campaign-agent-token"
AGENT_ID = "campaign-01"
REGION = "emea"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class CampaignFailure(Exception):
    pass


class Lab:
    """One hub, one proxy, one agent, their directories and the IDocs generated so far."""

    # hub.compression for every agent of the run (--hub-compression); None keeps the default.
    hub_compression = None

    def __init__(self, bin_dir, work, high_watermark="64MiB", low_watermark="48MiB", data_dir=None):
        self.bin = bin_dir
        self.work = work
        self.hub_port = free_port()
        self.proxy_port = free_port()
        self.dirs = {name: os.path.join(work, name) for name in ("drop", "archive", "error", "hub", "logs")}
        self.dirs["data"] = data_dir or os.path.join(work, "data")
        for path in self.dirs.values():
            os.makedirs(path, exist_ok=True)
        self.mode_file = os.path.join(work, "proxy.mode")
        self.set_fault("pass")
        with open(os.path.join(work, "token"), "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(os.path.join(work, "token"), 0o600)  # the agent refuses a token others can read
        self.hub_config = os.path.join(work, "hub.yaml")
        with open(self.hub_config, "w") as f:
            f.write(f"""listen: 127.0.0.1:{self.hub_port}
storage: {{sqlite: {self.dirs['hub']}/hub.sqlite}}
read_access: open
agents:
  - id: {AGENT_ID}
    region: {REGION}
    token_sha256: {hashlib.sha256(TOKEN.encode()).hexdigest()}
""")
        self.agent_config = os.path.join(work, "outpost.yaml")
        self.write_agent_config(high_watermark, low_watermark)
        self.hub = self.proxy = self.agent = None
        self.generated = set()
        self.file_counter = 0
        self.docnum = 0
        self.agent_starts = 0

    def write_agent_config(self, high_watermark, low_watermark, max_file_size="1MiB"):
        with open(self.agent_config, "w") as f:
            f.write(f"""agent: {{id: {AGENT_ID}, region: {REGION}, data_dir: {self.dirs['data']}}}
sources:
  - name: drop
    type: file_drop
    path: {self.dirs['drop']}
    settle: 100ms
    rescan_interval: 1s
    after: archive
    archive_dir: {self.dirs['archive']}
    error_dir: {self.dirs['error']}
    max_file_size: {max_file_size}
hub:
  url: http://127.0.0.1:{self.proxy_port}/v1/events
  token_file: {self.work}/token
  batch_max_events: 50
  retry_initial: 100ms
  retry_max: 1s
  request_timeout: 2s
{f"  compression: {self.hub_compression}{chr(10)}" if self.hub_compression else ""}outbox: {{high_watermark: {high_watermark}, low_watermark: {low_watermark}, min_free_disk: 0B}}
admin: {{listen: null}}
logging: {{level: info}}
""")

    # MARK: processes

    def start_hub(self):
        out = open(os.path.join(self.dirs["logs"], "hub.log"), "a")
        self.hub = subprocess.Popen([f"{self.bin}/outpost-hub", "serve", "--config", self.hub_config, "--log-level", "warning"],
                                    stdout=out, stderr=out)
        self.wait_until(lambda: self.hub_get("/healthz") is not None, 30, "the hub did not answer /healthz")

    def kill_hub(self):
        if self.hub:
            self.hub.send_signal(signal.SIGKILL)
            self.hub.wait()
            self.hub = None

    def start_proxy(self):
        self.proxy = subprocess.Popen([sys.executable, os.path.join(HERE, "fault_proxy.py"), "--listen", str(self.proxy_port),
                                       "--upstream", str(self.hub_port), "--mode-file", self.mode_file,
                                       "--log", os.path.join(self.dirs["logs"], "proxy.counts")])

    def set_fault(self, mode):
        with open(self.mode_file, "w") as f:
            f.write(mode + "\n")

    def proxy_counts(self):
        try:
            with open(os.path.join(self.dirs["logs"], "proxy.counts")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def start_agent(self):
        out = open(os.path.join(self.dirs["logs"], "agent.log"), "a")
        self.agent = subprocess.Popen([f"{self.bin}/outpost", "run", "--config", self.agent_config], stdout=out, stderr=out)
        self.agent_starts += 1

    def kill_agent(self):
        if self.agent:
            if self.agent.poll() is not None:
                raise CampaignFailure(f"the agent exited by itself with status {self.agent.returncode}; see {self.dirs['logs']}/agent.log")
            self.agent.send_signal(signal.SIGKILL)
            self.agent.wait()
            self.agent = None

    def stop_all(self):
        for proc in (self.agent, self.proxy, self.hub):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()

    def status(self):
        result = subprocess.run([f"{self.bin}/outpost", "status", "--config", self.agent_config, "--json"],
                                capture_output=True, text=True)
        return json.loads(result.stdout) if result.returncode == 0 else None

    # MARK: input

    def drop_idocs(self, count, per_file=5):
        """Writes `count` IDocs into the drop directory, `per_file` to a file, atomically."""
        written = 0
        while written < count:
            n = min(per_file, count - written)
            self.file_counter += 1
            sender = f"SYS{self.file_counter % 4}"
            idocs = []
            for _ in range(n):
                self.docnum += 1
                docnum = f"{self.docnum:016d}"
                self.generated.add(f"idoc:{sender}:100:{docnum}")
                idocs.append(
                    f'<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT>'
                    f"<DOCNUM>{docnum}</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP>"
                    f"<SNDPRN>{sender}</SNDPRN><RCVPRN>HUB</RCVPRN><CREDAT>20261126</CREDAT><CRETIM>101500</CRETIM>"
                    f'</EDI_DC40><E1EDK01 SEGMENT="1"><BELNR>PO-{docnum}</BELNR><CURCY>EUR</CURCY></E1EDK01>'
                    f'<E1EDP01 SEGMENT="1"><POSEX>000010</POSEX><MENGE>{self.docnum % 97 + 1}</MENGE></E1EDP01></IDOC>')
            name = f"ORDERS_{self.file_counter:06d}.xml"
            tmp = os.path.join(self.dirs["drop"], name + ".tmp")
            with open(tmp, "w") as f:
                f.write('<?xml version="1.0" encoding="UTF-8"?>\n<ORDERS05>' + "".join(idocs) + "</ORDERS05>\n")
            os.rename(tmp, os.path.join(self.dirs["drop"], name))
            written += n

    def drop_listing(self):
        return sorted(os.listdir(self.dirs["drop"]))

    # MARK: hub

    def hub_get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.hub_port}{path}", timeout=10) as answer:
                return json.load(answer)
        except (OSError, ValueError):
            return None

    def hub_ids(self):
        """Every event the hub stored, paged: (ids of IDoc events, total stored, other types)."""
        ids, total, others, after = [], 0, [], None
        while True:
            page = self.hub_get("/v1/events?limit=1000" + (f"&after={after}" if after else ""))
            if page is None:
                raise CampaignFailure("GET /v1/events failed")
            for event in page["events"]:
                total += 1
                (ids if event["type"].startswith("sap.idoc.") else others).append(event["id"])
            after = page["next"]
            if not after:
                return ids, total, others

    def wait_until(self, predicate, seconds, message):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.25)
        raise CampaignFailure(message)

    def settle_and_check(self, phase, seconds=300, allow_rejected=0):
        """Waits until every generated IDoc is at the hub, then checks the whole invariant."""
        def delivered():
            stats = self.hub_get("/v1/stats")
            if stats is None:
                return False
            # The agent's heartbeats are stored too; only documents and rejections count here.
            documents = stats.get("events", 0) - stats.get("types", {}).get("outpost.agent.heartbeat", 0)
            return documents >= len(self.generated) + allow_rejected and not self.drop_listing()
        try:
            self.wait_until(delivered, seconds, "not everything arrived")
        except CampaignFailure:
            pass  # the checks below say what is missing
        ids, total, others = self.hub_ids()
        distinct = set(ids)
        lost = len(self.generated - distinct)
        unexpected = len(distinct - self.generated)
        duplicates = len(ids) - len(distinct)
        result = {
            "phase": phase, "generated": len(self.generated), "stored": total, "distinct": len(distinct),
            "lost": lost, "duplicates_stored": duplicates, "unexpected": unexpected,
            "left_in_drop": len(self.drop_listing()),
            "quarantined": len([n for n in os.listdir(self.dirs["error"]) if not n.endswith(".reason.json")]),
            "hub_duplicates_dropped": (self.hub_get("/v1/stats") or {}).get("duplicates_dropped"),
        }
        problems = []
        if lost: problems.append(f"{lost} IDocs never reached the hub (e.g. {sorted(self.generated - distinct)[:3]})")
        if duplicates: problems.append(f"{duplicates} duplicates stored")
        if unexpected: problems.append(f"{unexpected} unexpected ids (e.g. {sorted(distinct - self.generated)[:3]})")
        if result["left_in_drop"]: problems.append(f"left in the drop directory: {self.drop_listing()[:5]}")
        if result["quarantined"] > allow_rejected: problems.append(f"quarantined: {sorted(os.listdir(self.dirs['error']))[:6]}")
        result["ok"] = not problems
        log(f"{phase}: " + ("OK " if not problems else "FAILED ") + json.dumps(result))
        if problems:
            raise CampaignFailure(f"{phase}: " + "; ".join(problems))
        return result


# MARK: phases

def phase_crash(lab, idocs, kills):
    """kill -9 at random instants while files stream in; a share of kills hit start-up recovery."""
    import threading
    lab.start_agent()
    done = threading.Event()
    duration = kills * 0.9

    def generate():
        rate = idocs / duration
        sent = 0
        start = time.time()
        while sent < idocs:
            batch = min(random.randint(1, 20), idocs - sent)
            lab.drop_idocs(batch, per_file=random.randint(1, 10))
            sent += batch
            time.sleep(max(0, start + sent / rate - time.time()))
        done.set()

    generator = threading.Thread(target=generate)
    generator.start()
    startup_kills = 0
    for _ in range(kills):
        if random.random() < 0.3:
            time.sleep(random.uniform(0.0, 0.3))  # during start-up recovery
            startup_kills += 1
        else:
            time.sleep(random.uniform(0.3, 1.5))
        lab.kill_agent()
        lab.start_agent()
    generator.join()
    result = lab.settle_and_check("crash")
    result.update(kills=kills, startup_kills=startup_kills, agent_starts=lab.agent_starts)
    return result


def phase_network(lab, idocs_per_mode):
    """Each fault mode of the proxy on half of the requests, then the hub killed and restarted."""
    if lab.agent is None:
        lab.start_agent()
    results = []
    for mode in ("503 0.5", "503-retry 0.5", "429 0.5", "hang 0.3", "reset 0.5", "drop 0.5"):
        name = mode.split()[0]
        before = lab.proxy_counts().get(name, 0)
        lab.set_fault(mode)
        lab.drop_idocs(idocs_per_mode, per_file=10)
        step = lab.settle_and_check(f"network {name}")  # with the fault still on
        lab.set_fault("pass")
        time.sleep(1.2)
        step["faults_injected"] = lab.proxy_counts().get(name, 0) - before
        if step["faults_injected"] == 0:
            raise CampaignFailure(f"network {name}: the proxy never injected the fault")
        results.append(step)
    lab.drop_idocs(idocs_per_mode * 2, per_file=10)
    time.sleep(0.5)
    lab.kill_hub()
    time.sleep(3)
    lab.start_hub()
    results.append(lab.settle_and_check("network hub-kill-restart"))
    counts = lab.proxy_counts()
    return {"phase": "network", "steps": results, "proxy_counts": counts}


def phase_watermark(lab, idocs):
    """Hub down longer than the outbox takes to fill: intake pauses, files wait, then all flows."""
    lab.kill_agent()
    lab.write_agent_config("96KiB", "48KiB")
    lab.kill_hub()
    lab.start_agent()
    lab.drop_idocs(idocs, per_file=10)
    time.sleep(12)
    waiting = len(lab.drop_listing())
    status = lab.status()
    lab.start_hub()
    result = lab.settle_and_check("watermark")
    result.update(files_waiting_while_hub_down=waiting, status_while_down=status)
    if waiting == 0:
        raise CampaignFailure("watermark: intake never paused; every file was read with the hub down")
    lab.kill_agent()
    lab.write_agent_config("64MiB", "48MiB")
    lab.start_agent()
    return result


def run(args):
    work = args.work or tempfile.mkdtemp(prefix="outpost-campaign-")
    os.makedirs(work, exist_ok=True)
    short = not args.long
    summary = {"form": "power" if args.power else "long" if args.long else "short", "work": work, "phases": []}
    lab = Lab(args.bin, os.path.join(work, "main"))
    failed = None
    phases = args.phases.split(",")
    try:
        if set(phases) - {"power", "attack"}:
            lab.start_hub()
            lab.start_proxy()
        if "crash" in phases:
            summary["phases"].append(phase_crash(lab, 1000 if short else 10000, 12 if short else 110))
        if "network" in phases:
            summary["phases"].append(phase_network(lab, 100 if short else 500))
        if "watermark" in phases:
            summary["phases"].append(phase_watermark(lab, 600 if short else 3000))
        if "disk" in phases or "hostile" in phases:
            import faults
            if "disk" in phases:
                summary["phases"].extend(faults.phase_disk(lab, work))
            if "hostile" in phases:
                summary["phases"].append(faults.phase_hostile(lab, work))
        if "attack" in phases:
            import attack
            attacked = attack.phase_attack(args.bin, work, short, args.attack_rss_bound)
            summary["phases"].append(attacked)
            summary["attack_generated"] = attacked["generated"]
        if "power" in phases:
            import power
            cuts = args.power_cuts or (1000 if args.power else 30 if short else 200)
            targets = (args.power_hosts or "agent,hub,both").split(",")
            summary["phases"].append(power.phase_power(args.bin, work, cuts, random.Random(random.randrange(1 << 30)), targets))
    except CampaignFailure as failure:
        failed = str(failure)
        if getattr(failure, "result", None):
            summary["phases"].append(failure.result)
        log(f"FAILED: {failure}")
    finally:
        lab.stop_all()
    summary["failed"] = failed
    summary["generated_total"] = len(lab.generated)
    text = json.dumps(summary, indent=2, default=str)
    if not failed and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="directory holding outpost and outpost-hub")
    parser.add_argument("--long", action="store_true")
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--work")
    parser.add_argument("--report")
    parser.add_argument("--power", action="store_true", help="only the power phase, 1,000 cuts")
    parser.add_argument("--power-cuts", type=int, help="cuts in the power phase (short 30, long 200, --power 1,000)")
    parser.add_argument("--power-hosts", help="whose power is cut: agent,hub,both (default: all three)")
    parser.add_argument("--phases", default="crash,network,watermark,disk,hostile,attack,power")
    parser.add_argument("--attack-rss-bound", type=float, default=192,
                        help="the attack phase fails when the hub's peak RSS exceeds this many MiB (default 192, a debug build)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--hub-compression", choices=["gzip", "zstd", "none"],
                        help="the agents' hub.compression (default: the agent's own, gzip)")
    args = parser.parse_args()
    if args.power:
        args.phases = "power"
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    log(f"random seed {seed} (repeat with --seed {seed})")
    if args.hub_compression:
        Lab.hub_compression = args.hub_compression
        log(f"the agents' hub.compression: {args.hub_compression}")
    sys.path.insert(0, HERE)
    # The phase modules import this file as `campaign`: one module, so that their
    # CampaignFailure is the one run() catches.
    sys.modules["campaign"] = sys.modules["__main__"]
    sys.exit(run(args))
