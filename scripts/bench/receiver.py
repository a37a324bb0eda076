#!/usr/bin/env python3
"""A minimal HTTP receiver for scripts/bench-peers.sh: counts the records POSTed to it and
answers 200 the way `outpost-hub` answers POST /v1/events, so that both programs measured
deliver into the same thing. Python 3 standard library only; 127.0.0.1 only.

Records per request:
  Content-Type application/cloudevents-batch+json (Outpost, batch mode): the events of the
      JSON array, counted as occurrences of `"specversion"` (a key every CloudEvent has once;
      inside a JSON string its quotes are escaped, so `data` cannot fake one). The agent's
      own heartbeats (`outpost.agent.heartbeat`) are counted apart.
  anything else (syslog-ng's http() destination): the lines of the body (each ends in "\n").
A gzip or deflate body (`Content-Encoding`) is inflated first; the benchmark configures the
agent with `hub.compression: none`, so none is.

Answer: 200 with `{"accepted":N,"duplicates":0,"rejected":[]}`, the hub's IngestResponse.

  receiver.py --port-file FILE        # listens on a free port of 127.0.0.1, writes it to FILE
  GET  /stats  -> {"records", "heartbeats", "requests", "bytes", "first", "last"}
                  (first/last: time.monotonic() of the first/last record, CLOCK_MONOTONIC,
                  comparable with the driver's clock on the same machine)
  POST /reset  -> zeroes the counters
Each accepted socket gets TCP_NODELAY and the listen backlog is 1024: without them a
keep-alive POST can stall ~40 ms (Nagle + delayed ACK) and bursts overflow the backlog.
"""
import argparse
import json
import os
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.records = self.heartbeats = self.requests = self.bytes = 0
        self.first = self.last = None

    def add(self, records, heartbeats, nbytes):
        now = time.monotonic()
        with self.lock:
            self.requests += 1
            self.bytes += nbytes
            self.heartbeats += heartbeats
            if records:
                self.records += records
                if self.first is None:
                    self.first = now
                self.last = now

    def snapshot(self):
        with self.lock:
            return {"records": self.records, "heartbeats": self.heartbeats, "requests": self.requests,
                    "bytes": self.bytes, "first": self.first, "last": self.last}


COUNTERS = Counters()


def count(body, content_type):
    """(records, heartbeats) in one request body."""
    if content_type.startswith("application/cloudevents-batch+json") or content_type.startswith("application/json"):
        events = body.count(b'"specversion"')
        heartbeats = body.count(b'"outpost.agent.heartbeat"')
        return events - heartbeats, heartbeats
    if not body:
        return 0, 0
    return body.count(b"\n") + (0 if body.endswith(b"\n") else 1), 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as both clients use it

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):  # quiet: one line per request would cost more than the work
        pass

    def answer(self, status, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(parts)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "identity").lower()
        if encoding == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        return body

    def do_POST(self):
        body = self.read_body()
        if self.path == "/reset":
            with COUNTERS.lock:
                COUNTERS.reset()
            return self.answer(200, {})
        records, heartbeats = count(body, self.headers.get("Content-Type", ""))
        COUNTERS.add(records, heartbeats, len(body))
        self.answer(200, {"accepted": records + heartbeats, "duplicates": 0, "rejected": []})

    def do_GET(self):
        if self.path == "/stats":
            return self.answer(200, COUNTERS.snapshot())
        self.answer(404, {"error": "not_found"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the port listened on to this file once listening")
    a = p.parse_args()
    server = Server(("127.0.0.1", a.port), Handler)
    port = server.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.rename(tmp, a.port_file)
    print(f"receiver listening on 127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
