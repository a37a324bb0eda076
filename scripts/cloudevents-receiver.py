#!/usr/bin/env python3
"""A CloudEvents HTTP receiver built on the official CloudEvents Python SDK (`cloudevents` on
PyPI), used by the tests as a third-party target for the agent's `hub.mode: structured` and
`binary`.

Every request is parsed with the SDK's `from_http` (structured or binary content mode, whichever
the request uses); each event is appended to --out as one JSON line:
  {"mode": "binary"|"structured", "attributes": {...}, "data": ..., "data_type": "text"|"bytes"|"json",
   "content_type": "<request Content-Type>"}
`data` is text for text and bytes (bytes as base64 when not UTF-8), the JSON value for JSON data.
The SDK (2.x, `cloudevents.v1.http`) does not undo the binary mode's percent-encoding of
`ce-` header values, which the HTTP binding requires receivers to do; this script does it.

  cloudevents-receiver.py --port P --out FILE [--fail-first N] [--reject-id ID]
--fail-first N answers 503 to the first N requests; --reject-id answers 400 to the event with
that id (both for the retry and dead-letter tests). Answers 204 otherwise. Listens on 127.0.0.1
only; prints "listening" once it does.
"""
import argparse
import base64
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from cloudevents.v1.http import from_http
except ImportError:  # the 1.x SDK
    from cloudevents.http import from_http

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--reject-id", default=None)
args = parser.parse_args()

lock = threading.Lock()
requests_seen = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, text=""):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global requests_seen
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with lock:
            requests_seen += 1
            if requests_seen <= args.fail_first:
                self.answer(503, "failing on purpose")
                return
        headers = {name.lower(): value for name, value in self.headers.items()}
        binary = "ce-specversion" in headers
        if binary:
            # The binding's percent-encoding of ce- header values, undone (the SDK keeps it).
            headers = {
                name: urllib.parse.unquote(value, encoding="utf-8", errors="strict") if name.startswith("ce-") else value
                for name, value in headers.items()
            }
        try:
            event = from_http(headers, body)
        except Exception as error:  # noqa: BLE001 - any parse failure is the sender's
            self.answer(400, f"not a CloudEvent: {error}")
            return
        if args.reject_id is not None and event["id"] == args.reject_id:
            self.answer(400, f"event {event['id']} rejected on purpose")
            return
        data = event.data
        if isinstance(data, (bytes, bytearray)):
            try:
                data, data_type = bytes(data).decode("utf-8"), "text"
            except UnicodeDecodeError:
                data, data_type = base64.b64encode(bytes(data)).decode(), "bytes"
        elif isinstance(data, str):
            data_type = "text"
        else:
            data_type = "json"
        record = {
            "mode": "binary" if binary else "structured",
            "attributes": {k: v for k, v in event.get_attributes().items() if v is not None},
            "data": data,
            "data_type": data_type,
            "content_type": self.headers.get("Content-Type"),
        }
        with lock:
            with open(args.out, "a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.answer(204)


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print("listening", flush=True)
sys.stdout.flush()
server.serve_forever()
