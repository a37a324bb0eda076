"""Attack phase of the reliability campaign (see campaign.py): the agent delivers IDocs to
the hub while a crowd of hostile connections holds the hub's port.

The crowd keeps a fixed number of connections open at all times, of four kinds: connected
and silent, half a request line then nothing, a request's headers dribbled a byte every half
second, and complete headers followed by a body at one byte a second. Each connection the
hub closes is counted and replaced. Midway, a flood opens more connections at once than the
hub's `max_connections` leaves room for: the hub refuses the excess at accept. Meanwhile a
probe asks `GET /healthz` on a new connection every 250 ms.

Checked at the end: every IDoc generated is at the hub exactly once (settle_and_check),
/healthz never failed outside the flood (while the flood fills `max_connections`, new
connections are refused by design, the probe's too), the hub's peak RSS stayed under the
bound, and the hub's own counters (`GET /v1/stats` `connections`) show the crowd closed by
`header_timeout` and `min_body_rate` and the flood refused.
"""
import os
import resource
import selectors
import socket
import threading
import time
import urllib.request

from campaign import AGENT_ID, REGION, TOKEN, CampaignFailure, Lab, log

HEADERS = b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n"
SLOW_BODY_HEAD = (b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer not-a-token\r\n"
                  b"Content-Length: 65536\r\n\r\n")
KINDS = ("silent", "partial_line", "header_dribble", "slow_body")


class Crowd:
    """Hostile connections to 127.0.0.1:port on a thread of their own (see the module text)."""

    def __init__(self, port, targets):
        self.port = port
        self.targets = dict(targets)
        self.extra = 0                 # flood connections still to open
        self.running = True
        self.tried = self.connect_failed = self.peak_held = 0
        self.closed_by_hub = {kind: 0 for kind in KINDS + ("flood",)}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def flood(self, count):
        with self.lock:
            self.extra += count

    def stop(self):
        self.running = False
        self.thread.join()

    def connect(self):
        self.tried += 1
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            self.connect_failed += 1
            return None
        return s

    def run(self):
        selector = selectors.EpollSelector()
        open_ = {kind: 0 for kind in KINDS + ("flood",)}
        state = {}                     # socket -> [kind, bytes sent, next send time]
        while self.running:
            now = time.monotonic()
            budget = 300              # new connections a round, so the backlog is not the limit
            with self.lock:
                flood, self.extra = self.extra, 0
            wanted = [(kind, self.targets.get(kind, 0) - open_[kind]) for kind in KINDS] + [("flood", flood)]
            for kind, missing in wanted:
                for _ in range(max(0, missing) if kind == "flood" else min(max(0, missing), budget)):
                    s = self.connect()
                    if s is None:
                        break
                    if kind != "flood":
                        budget -= 1
                    state[s] = [kind, 0, now]
                    open_[kind] += 1
                    selector.register(s, selectors.EVENT_READ)
            self.peak_held = max(self.peak_held, len(state))
            for s, entry in state.items():
                kind, sent, due = entry
                if due > now:
                    continue
                if kind in ("silent", "flood"):
                    entry[2] = float("inf")
                    continue
                if kind == "partial_line":
                    data, entry[2] = b"POST /v1/ev", float("inf")
                elif kind == "header_dribble":
                    if sent >= len(HEADERS) - 1:
                        entry[2] = float("inf")
                        continue
                    data, entry[2] = HEADERS[sent:sent + 1], now + 0.5
                else:
                    data, entry[2] = (SLOW_BODY_HEAD if sent == 0 else b"["), now + 1
                try:
                    s.send(data)
                    entry[1] += 1
                except (BlockingIOError, OSError):
                    entry[2] = now + 0.1
            for key, _ in selector.select(0.05):
                s = key.fileobj
                try:
                    while s.recv(4096):
                        pass                # an answer (400, 401…): the close follows
                    closed = True
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    kind = state.pop(s)[0]
                    selector.unregister(s)
                    s.close()
                    open_[kind] -= 1
                    self.closed_by_hub[kind] += 1
        for s in state:
            s.close()
        selector.close()


class HealthProbe:
    """GET /healthz on a new connection every 250 ms; records when each one failed."""

    def __init__(self, port):
        self.port = port
        self.answered, self.failures, self.slowest = 0, [], 0.0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as answer:
                    ok = answer.status == 200
            except OSError:
                ok = False
            if ok:
                self.answered += 1
                self.slowest = max(self.slowest, time.monotonic() - started)
            else:
                self.failures.append(started)
            time.sleep(0.25)

    def stop(self):
        self.running = False
        self.thread.join()


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def phase_attack(bin_dir, work, short, rss_bound_mib):
    """The attack phase; its own hub (SQLite, default limits but max_connections) and agent."""
    crowd_size = 2000 if short else 3000
    seconds = 40 if short else 240
    idocs = 1000 if short else 10000
    targets = {"silent": crowd_size * 3 // 10, "partial_line": crowd_size * 3 // 10,
               "header_dribble": crowd_size // 4, "slow_body": crowd_size - crowd_size * 3 // 10 * 2 - crowd_size // 4}
    max_connections = crowd_size + 500
    flood = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = crowd_size + flood + 1024
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        raise CampaignFailure(f"attack: the campaign needs {needed} open files (ulimit -n); the hard limit is {hard}")

    lab = Lab(bin_dir, os.path.join(work, "attack"))
    lab.proxy_port = lab.hub_port      # the agent talks to the hub directly
    lab.write_agent_config("64MiB", "48MiB")
    with open(lab.hub_config, "a") as f:
        f.write(f"max_connections: {max_connections}\n")
    try:
        lab.start_hub()
        lab.start_agent()
        crowd = Crowd(lab.hub_port, targets)
        probe = HealthProbe(lab.hub_port)
        started = time.monotonic()
        flood_window = None
        dropped = 0
        while time.monotonic() - started < seconds:
            elapsed = time.monotonic() - started
            due = int(idocs * min(1.0, elapsed / (seconds * 0.9)))
            if due > dropped:
                lab.drop_idocs(due - dropped, per_file=10)
                dropped = due
            if flood_window is None and elapsed >= seconds / 2:
                crowd.flood(flood)
                # Admitted flood connections hold their places until header_timeout (10 s).
                flood_window = (time.monotonic(), time.monotonic() + 13)
            time.sleep(0.2)
        if dropped < idocs:
            lab.drop_idocs(idocs - dropped, per_file=10)
        counters = (lab.hub_get("/v1/stats") or {}).get("connections") or {}
        crowd.stop()
        probe.stop()
        result = lab.settle_and_check("attack")
        rss = peak_rss_mib(lab.hub.pid)
        outside = [t for t in probe.failures if not (flood_window and flood_window[0] <= t <= flood_window[1])]
        result.update(
            seconds=seconds, crowd=crowd_size, max_connections=max_connections, flood=flood,
            connections_tried=crowd.tried, connect_failed=crowd.connect_failed, peak_held=crowd.peak_held,
            closed_by_hub=crowd.closed_by_hub, hub_counters=counters,
            refused=counters.get("refused"), timed_out=counters.get("header_timeouts", 0) + counters.get("slow_bodies", 0),
            documents_lost=result["lost"], healthz_answered=probe.answered, healthz_failed=len(probe.failures),
            healthz_failed_outside_flood=len(outside), healthz_slowest_s=round(probe.slowest, 2), hub_peak_rss_mib=rss)
        log("attack: tried {connections_tried}, held {peak_held} at peak, refused {refused}, timed out {timed_out}, "
            "documents lost {documents_lost}, /healthz {healthz_answered} answered / {healthz_failed} failed "
            "({healthz_failed_outside_flood} outside the flood), hub peak RSS {hub_peak_rss_mib} MiB".format(**result))
        problems = []
        if outside:
            problems.append(f"/healthz failed {len(outside)} times outside the flood")
        if rss is None or rss > rss_bound_mib:
            problems.append(f"hub peak RSS {rss} MiB above {rss_bound_mib} MiB")
        if crowd.peak_held < crowd_size:
            problems.append(f"the crowd never held {crowd_size} connections (peak {crowd.peak_held})")
        if not counters.get("refused"):
            problems.append("the hub refused none of the flood")
        if counters.get("header_timeouts", 0) < crowd_size or not counters.get("slow_bodies"):
            problems.append(f"the hub's counters do not show the crowd timed out: {counters}")
        if problems:
            failure = CampaignFailure("attack: " + "; ".join(problems))
            failure.result = result
            raise failure
        return result
    finally:
        lab.stop_all()
