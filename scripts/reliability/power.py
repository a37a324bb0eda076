"""Power-cut phase of the reliability campaign (see campaign.py and powercutfs.c).

Two simulated machines, each a powercutfs mount: the "agent host" holds the agent's data
directory (its outbox) and the drop, archive and error directories; the "hub host" holds the
hub's SQLite storage. A writer (the SAP side) drops IDoc files the way a careful producer
does: temporary name, fsync, rename, fsync of the directory. At a random instant the power
of one host (or both) is cut: what was not made durable is dropped (all of it, or a seeded
random part with torn writes), the processes on that host are killed, the host is remounted
on what survived and the processes are started again.

After every cut: each file the agent had logged as committed or acknowledged before the cut
(agent log, kept outside the mounts) must have all of its IDocs in the surviving outbox or
at the hub. At the end, after a drain without cuts: every IDoc of every file that was
acknowledged, durably dropped or found after a cut is at the hub exactly once, nothing else
is, the drop directory is empty and nothing was quarantined.
"""
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request

from campaign import AGENT_ID, REGION, TOKEN, CampaignFailure, Lab, log
import powercut

READ_TOKEN = "campaign-read-token"
LOG_LINE = re.compile(r'msg=(file\.committed|file\.acknowledged) .*?\bfile=("(?:[^"\\]|\\.)*"|\S+)')


class PowerLab(Lab):
    """A Lab whose agent directories live on the agent host and whose hub storage lives on the
    hub host; the agent talks to the hub directly (no fault proxy)."""

    def __init__(self, bin_dir, work, agent_host, hub_host):
        super().__init__(bin_dir, work)
        self.proxy_port = self.hub_port
        self.agent_host, self.hub_host = agent_host, hub_host
        for name in ("drop", "archive", "error", "data"):
            self.dirs[name] = agent_host.path(name)
        self.dirs["hub"] = hub_host.path("hub")
        self.files = {}              # file name -> its IDoc ids, every file the writer began
        self.read_access = self.write_hub_config()
        self.write_agent_config("64MiB", "48MiB")

    def write_hub_config(self):
        """With a read token when this hub knows `read_token_sha256`, else `read_access: open`
        when it knows that, else neither (a hub whose reads are open to all)."""
        base = f"""listen: 127.0.0.1:{self.hub_port}
storage: {{sqlite: {self.dirs['hub']}/hub.sqlite}}
agents:
  - id: {AGENT_ID}
    region: {REGION}
    token_sha256: {hashlib.sha256(TOKEN.encode()).hexdigest()}
"""
        for extra, kind in ((f"read_token_sha256: {hashlib.sha256(READ_TOKEN.encode()).hexdigest()}\n", "read token"),
                            ("read_access: open\n", "open"), ("", "default")):
            with open(self.hub_config, "w") as f:
                f.write(base + extra)
            check = subprocess.run([f"{self.bin}/outpost-hub", "check-config", "--config", self.hub_config],
                                   capture_output=True, text=True)
            if check.returncode == 0:
                return kind
        raise CampaignFailure(f"power: no hub configuration passes check-config: {check.stdout}{check.stderr}")

    def hub_get(self, path):
        request = urllib.request.Request(f"http://127.0.0.1:{self.hub_port}{path}")
        if self.read_access == "read token":
            request.add_header("Authorization", f"Bearer {READ_TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.load(answer)
        except (OSError, ValueError):
            return None

    def start_agent(self):
        out = open(os.path.join(self.dirs["logs"], "agent.log"), "a")
        self.agent = subprocess.Popen([f"{self.bin}/outpost", "run", "--config", self.agent_config], stdout=out, stderr=out)
        self.agent_starts += 1

    def drop_file(self, count):
        """Drops one file of `count` IDocs as a careful producer does: temporary name, fsync,
        rename, fsync of the directory. Returns its name and ids once the drop is durable;
        raises OSError when the disk fails under it."""
        self.file_counter += 1
        name = f"ORDERS_{self.file_counter:06d}.xml"
        sender = f"SYS{self.file_counter % 4}"
        ids, idocs = set(), []
        for _ in range(count):
            self.docnum += 1
            docnum = f"{self.docnum:016d}"
            ids.add(f"idoc:{sender}:100:{docnum}")
            idocs.append(
                f'<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT>'
                f"<DOCNUM>{docnum}</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP>"
                f"<SNDPRN>{sender}</SNDPRN><RCVPRN>HUB</RCVPRN><CREDAT>20261126</CREDAT><CRETIM>101500</CRETIM>"
                f'</EDI_DC40><E1EDK01 SEGMENT="1"><BELNR>PO-{docnum}</BELNR><CURCY>EUR</CURCY></E1EDK01></IDOC>')
        self.generated |= ids
        self.files[name] = ids       # before the first byte: the agent may pick it up at once
        tmp = os.path.join(self.dirs["drop"], name + ".tmp")
        with open(tmp, "w") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<ORDERS05>' + "".join(idocs) + "</ORDERS05>\n")
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.dirs["drop"], name))
        fd = os.open(self.dirs["drop"], os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return name, ids

    def kill(self, which):
        proc = getattr(self, which)
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait()
            setattr(self, which, None)


class Writer:
    """The SAP side: drops files durably (temp name, fsync, rename, directory fsync) until
    stopped or until the disk fails under it (a cut)."""

    def __init__(self, lab, rng):
        self.lab, self.rng = lab, rng
        self.files = lab.files
        self.durable = set()       # file names whose drop completed (directory fsynced)
        self.thread = None

    def start(self):
        self.stop_event = threading.Event()
        self.plan = [(self.rng.randint(1, 10), self.rng.uniform(0.02, 0.12)) for _ in range(400)]
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        drop = self.lab.dirs["drop"]
        for per_file, pause in self.plan:
            if self.stop_event.is_set():
                return
            try:
                name, ids = self.lab.drop_file(per_file)
            except OSError:
                return  # the power is off
            self.durable.add(name)
            self.stop_event.wait(pause)

    def stop(self):
        if self.thread:
            self.stop_event.set()
            self.thread.join(30)
            if self.thread.is_alive():
                raise CampaignFailure("power: the writer did not stop")
            self.thread = None




def _ids_of_db(directory, name, table_sql):
    """Reads ids from a copy of an SQLite database (and its WAL) that no process uses."""
    source = os.path.join(directory, name)
    if not os.path.exists(source):
        return []
    copy = os.path.join(os.path.dirname(directory.rstrip("/")), ".readcopy")
    shutil.rmtree(copy, ignore_errors=True)
    os.makedirs(copy)
    for suffix in ("", "-wal"):
        if os.path.exists(source + suffix):
            shutil.copyfile(source + suffix, os.path.join(copy, name + suffix))
    try:
        db = sqlite3.connect(os.path.join(copy, name))
        try:
            integrity = db.execute("PRAGMA quick_check").fetchone()[0]
            rows = db.execute(table_sql).fetchall()
        finally:
            db.close()
    except sqlite3.Error as error:
        if "no such table" in str(error):
            return []   # created, but its schema never made durable: an empty store
        raise CampaignFailure(f"power: {name} after the cut cannot be read: {error}")
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    if integrity != "ok":
        raise CampaignFailure(f"power: {name} after the cut fails quick_check: {integrity}")
    return rows


class HubView:
    """The ids stored at the hub: paged incrementally over HTTP while the hub lives, re-read
    from the surviving database after the hub host's power was cut."""

    def __init__(self, lab):
        self.lab, self.ids, self.cursor = lab, set(), 0

    def refresh_http(self):
        after = self.cursor
        while True:
            page = self.lab.hub_get(f"/v1/events?limit=1000&after={after}")
            if page is None:
                raise CampaignFailure("power: GET /v1/events failed")
            for event in page["events"]:
                self.ids.add(event["id"])
            if page.get("next"):
                after = int(page["next"])
            if not page.get("next") or not page["events"]:
                break
        self.cursor = after

    def reload_from(self, hub_dir):
        rows = _ids_of_db(hub_dir, "hub.sqlite", "SELECT seq, id FROM event")
        self.ids = {row[1] for row in rows}
        self.cursor = max((row[0] for row in rows), default=0)


def _acknowledged(lab, offset, committed, acknowledged):
    """Reads the agent log from `offset`; adds file names to the sets; returns the new offset."""
    path = os.path.join(lab.dirs["logs"], "agent.log")
    if not os.path.exists(path):
        return offset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    for line in data[:end].decode("utf-8", "replace").splitlines():
        match = LOG_LINE.search(line)
        if match:
            name = match.group(2)
            if name.startswith('"'):
                name = json.loads(name)
            (committed if match.group(1) == "file.committed" else acknowledged).add(name)
    return offset + end


def _clean_after_cut(lab):
    """What an operator (or the writer's own restart) does: temporary files of drops that did
    not complete are removed; archived files are pruned so each mount's snapshot stays small."""
    drop = lab.dirs["drop"]
    for name in os.listdir(drop):
        if name.endswith(".tmp"):
            try:
                os.unlink(os.path.join(drop, name))
            except FileNotFoundError:
                pass  # listed, then gone before the unlink: nothing left to clean
    for day in glob.glob(os.path.join(lab.dirs["archive"], "*")):
        shutil.rmtree(day, ignore_errors=True)


TARGETS = {"agent": ("agent host", 70), "hub": ("hub host", 15), "both": ("both", 15)}


def phase_power(bin_dir, work, cuts, rng, targets=("agent", "hub", "both")):
    """`cuts` power cuts at random instants while files stream in; see the module's text.
    `targets`: which hosts may lose power (agent 70%, hub 15%, both 15%, among those given)."""
    reason = powercut.available()
    if reason or os.geteuid() != 0:
        log(f"power: skipped ({reason or 'mounting FUSE needs root here'})")
        return {"phase": "power", "skipped": reason or "needs root"}
    root = os.path.join(work, "power")
    binary = powercut.build(os.path.join(root, "build"))
    agent_host = powercut.Host(binary, os.path.join(root, "agent-host"), "agent host")
    hub_host = powercut.Host(binary, os.path.join(root, "hub-host"), "hub host")
    for name in ("drop", "archive", "error", "data"):
        os.makedirs(os.path.join(agent_host.backing, name))
    os.makedirs(os.path.join(hub_host.backing, "hub"))
    agent_host.mount()
    hub_host.mount()
    lab = PowerLab(bin_dir, os.path.join(root, "lab"), agent_host, hub_host)
    writer = Writer(lab, rng)
    hub_view = HubView(lab)
    committed, acknowledged, found_after_cut = set(), set(), set()
    log_offset = 0
    losses, cut_log = [], []
    totals = {"agent host": 0, "hub host": 0, "both": 0, "all": 0, "random": 0, "torn": 0,
              "data_dropped": 0, "ns_dropped": 0, "events_checked": 0, "startup_cuts": 0}
    started = time.time()
    try:
        lab.start_hub()
        lab.start_agent()
        writer.start()
        for number in range(1, cuts + 1):
            startup = rng.random() < 0.2
            time.sleep(rng.uniform(0.0, 0.4) if startup else rng.uniform(0.4, 2.0))
            totals["startup_cuts"] += startup
            target = rng.choices([TARGETS[t][0] for t in targets], weights=[TARGETS[t][1] for t in targets])[0]
            mode = "all" if rng.random() < 0.25 else f"random:{rng.randrange(1 << 31)}"
            if lab.agent is not None and lab.agent.poll() is not None:
                raise CampaignFailure(f"power: before cut {number} the agent exited by itself with "
                                      f"{lab.agent.returncode}; see {lab.dirs['logs']}/agent.log")
            hosts = [h for h in (agent_host, hub_host) if target in (h.name, "both")]
            replies = {h.name: h.cut(mode) for h in hosts}          # the instant of the cut
            if agent_host in hosts:
                lab.kill("agent")
                writer.stop()
            if hub_host in hosts:
                lab.kill("hub")
            log_offset = _acknowledged(lab, log_offset, committed, acknowledged)
            for h in hosts:
                h.restart_after_cut()
            totals[target] += 1
            totals["all" if mode == "all" else "random"] += 1
            for reply in replies.values():
                totals["torn"] += int(reply["torn"])
                totals["data_dropped"] += int(reply["data_dropped"])
                totals["ns_dropped"] += int(reply["ns_dropped"])

            # The check: what the agent acknowledged is still to be sent from its outbox (state
            # 'pending'; delivered rows are kept there for a while) or at the hub.
            if agent_host in hosts:
                rows = _ids_of_db(lab.dirs["data"], "outbox.sqlite", "SELECT id FROM event WHERE state = 'pending'")
                outbox = {row[0] for row in rows}
            else:
                outbox = _live_outbox_ids(lab)
            if hub_host in hosts:
                hub_view.reload_from(lab.dirs["hub"])
            else:
                hub_view.refresh_http()
            survivors = set(os.listdir(lab.dirs["drop"])) | {
                os.path.basename(p) for p in glob.glob(os.path.join(lab.dirs["archive"], "*", "*"))}
            found_after_cut |= {n for n in survivors if n in writer.files}
            promised = committed | acknowledged
            checked = 0
            for name in sorted(promised):
                ids = writer.files.get(name)
                if ids is None:
                    raise CampaignFailure(f"power: the agent logged a file the writer never wrote: {name}")
                if outbox is None:
                    continue
                missing = sorted(ids - outbox - hub_view.ids)
                checked += len(ids)
                if missing:
                    losses.append({"cut": number, "target": target, "mode": mode, "file": name,
                                   "missing": missing, "in_drop_after_cut": name in os.listdir(lab.dirs["drop"]),
                                   "replies": replies})
                    log(f"power: LOSS at cut {number} ({target}, {mode}): {name} {missing[:3]} replies {replies}")
            totals["events_checked"] += checked
            cut_log.append({"cut": number, "target": target, "mode": mode, "replies": replies,
                            "promised_files": len(promised), "events_checked": checked,
                            "files_lost": len([l for l in losses if l["cut"] == number]), "outbox": None if outbox is None else len(outbox),
                            "hub": len(hub_view.ids)})
            if losses:
                # Each file counted once: from here on it is expected at the end anyway.
                committed -= {l["file"] for l in losses}
                acknowledged -= {l["file"] for l in losses}
            _clean_after_cut(lab)
            if hub_host in hosts:
                lab.start_hub()
            if agent_host in hosts:
                lab.start_agent()
                writer.start()
            if number % 25 == 0 or number == cuts:
                log(f"power: {number} cuts, {len(acknowledged)} files acknowledged, {len(lab.generated)} IDocs "
                    f"generated, {len(losses)} losses, {time.time() - started:.0f} s")
        writer.stop()

        # The drain: no more cuts; everything promised must arrive, once.
        log_offset = _acknowledged(lab, log_offset, committed, acknowledged)
        expected_files = writer.durable | committed | acknowledged | found_after_cut | {l["file"] for l in losses}
        expected = set().union(*(writer.files[n] for n in expected_files)) if expected_files else set()

        def drained():
            try:
                hub_view.refresh_http()
            except CampaignFailure:
                return False
            leftover = [n for n in os.listdir(lab.dirs["drop"]) if not n.endswith(".tmp")]
            if leftover:
                return False
            if expected <= hub_view.ids:
                return True
            # Nothing left to send: what is missing now will not come.
            pending = _live_outbox_ids(lab)
            return pending is not None and not any(i.startswith("idoc:") for i in pending)
        time.sleep(2)
        try:
            lab.wait_until(drained, 300, "power: not everything arrived")
        except CampaignFailure:
            pass
        ids, total, others = lab.hub_ids()
        distinct = set(ids)
        log_offset = _acknowledged(lab, log_offset, committed, acknowledged)
        result = {
            "phase": "power", "cuts": cuts, "targets": list(targets), "cuts_by_target": {k: totals[k] for k in ("agent host", "hub host", "both")},
            "cuts_by_mode": {"all": totals["all"], "random": totals["random"]}, "startup_cuts": totals["startup_cuts"],
            "pending_data_writes_dropped": totals["data_dropped"], "torn_writes": totals["torn"],
            "pending_namespace_ops_dropped": totals["ns_dropped"],
            "files_written": len(writer.files), "files_acknowledged": len(acknowledged),
            "files_committed": len(committed), "files_expected": len(expected_files),
            "events_checked_after_cuts": totals["events_checked"], "idocs_generated": len(lab.generated),
            "idocs_expected": len(expected), "stored": total, "distinct": len(distinct),
            "lost_at_cuts": len(losses), "lost": len(expected - distinct), "duplicates_stored": len(ids) - len(distinct),
            "unexpected": len(distinct - lab.generated), "left_in_drop": len(os.listdir(lab.dirs["drop"])),
            "quarantined": len([n for n in os.listdir(lab.dirs["error"]) if not n.endswith(".reason.json")]),
            "agent_starts": lab.agent_starts, "hub_read_access": lab.read_access,
            "seconds": round(time.time() - started), "losses": losses[:20],
        }
        with open(os.path.join(root, "cuts.json"), "w") as f:
            json.dump(cut_log, f, indent=1)
        problems = []
        if losses: problems.append(f"{len(losses)} acknowledged files had IDocs in neither the outbox nor the hub after a cut")
        if result["lost"]: problems.append(f"{result['lost']} expected IDocs never reached the hub (e.g. {sorted(expected - distinct)[:3]})")
        if result["duplicates_stored"]: problems.append(f"{result['duplicates_stored']} duplicates stored")
        if result["unexpected"]: problems.append(f"{result['unexpected']} unexpected ids")
        if result["left_in_drop"]: problems.append(f"left in the drop directory: {sorted(os.listdir(lab.dirs['drop']))[:5]}")
        if result["quarantined"]: problems.append(f"quarantined: {sorted(os.listdir(lab.dirs['error']))[:6]}")
        if not acknowledged: problems.append("the agent acknowledged no file: nothing was tested")
        result["ok"] = not problems
        log("power: " + ("OK " if not problems else "FAILED ") + json.dumps({k: v for k, v in result.items() if k != "losses"}))
        if problems:
            failure = CampaignFailure("power: " + "; ".join(problems) + f" (details: {root}/cuts.json and the report)")
            failure.result = result   # the figures go into the report all the same
            raise failure
        return result
    finally:
        try:
            writer.stop()
        except CampaignFailure:
            pass
        lab.stop_all()
        agent_host.unmount()
        hub_host.unmount()


def _live_outbox_ids(lab):
    """The outbox of a running agent, read by a second connection through the mount (WAL
    readers do not disturb the writer); None when it cannot be read."""
    path = os.path.join(lab.dirs["data"], "outbox.sqlite")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return {row[0] for row in db.execute("SELECT id FROM event WHERE state = 'pending'")}
        finally:
            db.close()
    except sqlite3.Error as error:
        log(f"power: the live outbox could not be read ({error}); this cut's check is skipped")
        return None
