#!/usr/bin/env python3
"""A loopback HTTP/1.1 proxy between the agent and the hub that injects faults.

    fault_proxy.py --listen PORT --upstream PORT --mode-file FILE [--log FILE]

The mode file holds one line, re-read for every request, so a campaign can change faults
while the agent runs:
    pass                     forward everything
    MODE [PROBABILITY]       inject MODE on that share of requests (default 1.0), else forward;
                             the first request after the line changes always gets MODE, so
                             a phase with few requests still sees its fault at least once
MODEs:
    503          answer 503 without Retry-After
    503-retry    answer 503 with Retry-After: 1
    429          answer 429 with Retry-After: 1
    hang         read the request, then answer nothing until the client gives up
    reset        reset the connection (RST) before forwarding anything
    drop         forward to the hub, read its answer, then close without answering
                 (the hub stored the batch; the agent must retry and the hub must dedupe)
Counts of what it did are printed as one JSON line to the log on SIGTERM and every second.
Only 127.0.0.1 is ever contacted.
"""
import argparse
import asyncio
import json
import os
import random
import signal
import socket
import struct
import sys

counts = {}


def bump(key):
    counts[key] = counts.get(key, 0) + 1


last_line = None  # the mode file's line as last read
first_pending = False  # the line changed and its fault has not been injected yet


def read_mode(path):
    global last_line, first_pending
    try:
        with open(path) as f:
            line = f.read().strip()
    except OSError:
        line = "pass"
    parts = line.split()
    if line != last_line:
        last_line = line
        first_pending = True
    if not parts or parts[0] == "pass":
        return "pass"
    probability = float(parts[1]) if len(parts) > 1 else 1.0
    if first_pending:
        first_pending = False
        return parts[0]
    return parts[0] if random.random() < probability else "pass"


async def read_message(reader):
    """One HTTP/1.1 message (head, body) with a Content-Length body, or None at EOF."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"transfer-encoding":
            raise ValueError("chunked bodies are not supported by the fault proxy")
    body = await reader.readexactly(length) if length else b""
    return head, body


def reset(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


def canned(status, reason, retry_after):
    body = json.dumps({"error": f"fault proxy: {status}"}).encode()
    extra = b"Retry-After: 1\r\n" if retry_after else b""
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n".encode() + extra
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


async def forward(upstream_port, head, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    try:
        writer.write(head + body)
        await writer.drain()
        return await read_message(reader)
    finally:
        writer.close()


async def handle(reader, writer, args):
    try:
        while True:
            try:
                head, body = await read_message(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            mode = read_mode(args.mode_file) if head.startswith(b"POST") else "pass"
            bump(mode)
            if mode == "reset":
                reset(writer)
                return
            if mode == "hang":
                await asyncio.sleep(3600)
                return
            if mode in ("503", "503-retry"):
                writer.write(canned(503, "Service Unavailable", mode == "503-retry"))
            elif mode == "429":
                writer.write(canned(429, "Too Many Requests", True))
            else:
                try:
                    answer_head, answer_body = await forward(args.upstream, head, body)
                except (OSError, asyncio.IncompleteReadError):
                    bump("upstream-down")
                    reset(writer)
                    return
                if mode == "drop":
                    reset(writer)
                    return
                writer.write(answer_head + answer_body)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def report(path):
    while True:
        await asyncio.sleep(1)
        write_counts(path)


def write_counts(path):
    # Written aside and renamed, so that a reader never sees a truncated file.
    if path:
        with open(path + ".tmp", "w") as f:
            f.write(json.dumps(counts) + "\n")
        os.replace(path + ".tmp", path)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--mode-file", required=True)
    parser.add_argument("--log")
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1", args.listen)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    reporter = asyncio.create_task(report(args.log))
    async with server:
        await stop
    reporter.cancel()
    write_counts(args.log)


if __name__ == "__main__":
    asyncio.run(main())
