#!/usr/bin/env python3
"""Load figure for smartbin-dashboard: many simulated bins publish events over MQTT on loopback
for a bounded time; the tool measures events/s ingested and the publish → visible-in-API delay.

Each bin is its own MQTT 3.1.1 connection (client id = bin id, Last Will `offline` and retained
`online` on `smartbin/<fleet>/<bin>/available`, as the firmware does) speaking the protocol over
a plain socket (no paho); events are schema-1 JSON published QoS 1 at `--rate` per bin with a
little jitter, `ts` = the publish time. A poller thread asks `GET /api/events?since=…&order=asc`
every `--poll` seconds for everything not yet seen and records when each id first appears:
the delay of an event is that moment minus its publish time (so it includes the poll interval:
the figure's resolution is `--poll`). Ingest rate is the change of
`smartbin_dashboard_events_ingested_total` (from `/metrics`) over the publishing window.

Without --broker it starts its own mosquitto on a free loopback port; without --dashboard-url
it starts `--dashboard-binary` (default .build/debug/smartbin-dashboard) on a temporary
database and a free port, and stops both afterwards.

Usage:
  tools/dashboard_load.py [--bins 100] [--rate 10] [--duration 20] [--poll 0.05]
                          [--broker HOST:PORT] [--dashboard-url http://HOST:PORT]
                          [--dashboard-binary PATH] [--json]
"""
import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone


# MARK: MQTT 3.1.1, just what a publishing bin needs.

def _utf8(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def _remaining_length(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(client_id, will_topic, will_payload, keepalive=30):
    flags = 0x02 | 0x04 | (1 << 3) | 0x20  # clean session, will, will QoS 1, will retain
    variable = _utf8("MQTT") + bytes([4, flags]) + struct.pack(">H", keepalive)
    payload = _utf8(client_id) + _utf8(will_topic) + struct.pack(">H", len(will_payload)) + will_payload
    body = variable + payload
    return bytes([0x10]) + _remaining_length(len(body)) + body


def publish_packet(topic, payload, packet_id, retain=False):
    body = _utf8(topic) + struct.pack(">H", packet_id) + payload
    return bytes([0x30 | (1 << 1) | (1 if retain else 0)]) + _remaining_length(len(body)) + body


class Bin:
    def __init__(self, fleet, bin_id, host, port):
        self.fleet, self.bin_id, self.host, self.port = fleet, bin_id, host, port
        self.base = f"smartbin/{fleet}/{bin_id}"
        self.next_packet = 0
        self.acked = 0

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(connect_packet(self.bin_id, self.base + "/available", b"offline"))
        await self.writer.drain()
        header = await self.reader.readexactly(4)
        if header[0] != 0x20 or header[3] != 0:
            raise RuntimeError(f"{self.bin_id}: CONNACK refused: {header!r}")
        self.reader_task = asyncio.create_task(self.read_acks())
        self.publish(self.base + "/available", b"online", retain=True)

    def publish(self, topic, payload, retain=False):
        self.next_packet = self.next_packet % 65535 + 1
        self.writer.write(publish_packet(topic, payload, self.next_packet, retain))

    async def read_acks(self):
        try:
            while True:
                first = await self.reader.readexactly(1)
                length, shift = 0, 0
                while True:
                    byte = (await self.reader.readexactly(1))[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                await self.reader.readexactly(length)
                if first[0] >> 4 == 4:  # PUBACK
                    self.acked += 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass

    async def close(self):
        self.publish(self.base + "/available", b"stopped", retain=True)
        await self.writer.drain()
        await asyncio.sleep(0.2)
        self.writer.write(b"\xe0\x00")  # DISCONNECT
        await self.writer.drain()
        self.reader_task.cancel()
        self.writer.close()


def rfc3339(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(seconds * 1000) % 1000:03d}Z"


LABELS = [("cardboard", "recyclable"), ("glass", "recyclable"), ("metal", "recyclable"),
          ("paper", "recyclable"), ("plastic", "recyclable"), ("trash", "other")]


def event_payload(bin_id, seq, ts, rng):
    index = rng.randrange(len(LABELS))
    label, route = LABELS[index]
    confidence = round(rng.uniform(0.35, 0.99), 3)
    fallback = confidence < 0.6
    if fallback:
        route = "other"
    event_id = str(uuid.uuid4())
    total = round(rng.uniform(80, 400), 1)
    payload = {"schema": 1, "id": event_id, "seq": seq, "bin_id": bin_id, "ts": rfc3339(ts),
               "label": label, "class_index": index, "confidence": confidence,
               "top": [{"label": label, "score": confidence}], "route": route, "fallback": fallback,
               "flap_angle_deg": -45 if route == "other" else 45,
               "model": {"name": "tiny-v1.5-torch-6", "sha256": "0" * 64, "precision": "fp32"},
               "timing_ms": {"capture": 12, "preprocess": 4, "inference": round(total * 0.4, 1),
                             "actuate": round(total * 0.5, 1), "total": total},
               "firmware": "load-test"}
    return event_id, json.dumps(payload, separators=(",", ":")).encode()


# MARK: Measuring.

class Tracker:
    """Publish times of events not yet seen in the API, and the delays of those seen."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending = {}      # id -> (publish wall time, ts text)
        self.delays = []
        self.published = 0

    def add(self, event_id, published_at, ts_text):
        with self.lock:
            self.pending[event_id] = (published_at, ts_text)
            self.published += 1

    def oldest_ts(self):
        with self.lock:
            return min((ts for _, ts in self.pending.values()), default=None)

    def seen(self, ids, now):
        with self.lock:
            for event_id in ids:
                entry = self.pending.pop(event_id, None)
                if entry:
                    self.delays.append(now - entry[0])

    def outstanding(self):
        with self.lock:
            return len(self.pending)


def poller(base_url, tracker, interval, stop):
    while not stop.is_set():
        since = tracker.oldest_ts()
        if since is not None:
            while True:
                url = f"{base_url}/api/events?order=asc&limit=10000&since={since}"
                try:
                    with urllib.request.urlopen(url, timeout=10) as response:
                        events = json.load(response)
                except OSError as error:
                    print(f"poll failed: {error}", file=sys.stderr)
                    break
                tracker.seen([e["id"] for e in events], time.time())
                if len(events) < 10000:
                    break
                since = events[-1]["ts"]
        stop.wait(interval)


def ingested_total(base_url):
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(r"^smartbin_dashboard_events_ingested_total (\d+)$", text, re.M)
    return int(match.group(1)) if match else 0


def ingest_lag_p99_bound(base_url):
    """The smallest bucket bound of the dashboard's own ts → commit histogram that holds 99%."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    buckets = [(float(le), int(n)) for le, n in
               re.findall(r'^smartbin_dashboard_ingest_delay_seconds_bucket\{le="([^"+]+)"\} (\d+)$', text, re.M)]
    count = re.search(r"^smartbin_dashboard_ingest_delay_seconds_count (\d+)$", text, re.M)
    total = int(count.group(1)) if count else 0
    for bound, n in buckets:
        if total and n >= 0.99 * total:
            return bound
    return float("inf")


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-p * len(ordered) // 1)))
    return ordered[min(len(ordered), rank) - 1]


async def run_bins(args, host, port, tracker):
    rng = random.Random(args.seed)
    bins = [Bin(args.fleet, f"load-{i:03d}", host, port) for i in range(args.bins)]
    await asyncio.gather(*(b.connect() for b in bins))
    start = time.monotonic()
    end = start + args.duration

    async def publisher(b):
        seq = 0
        next_at = start + rng.uniform(0, 1 / args.rate)
        while True:
            now = time.monotonic()
            if next_at >= end:
                return
            if next_at > now:
                await asyncio.sleep(next_at - now)
            seq += 1
            ts = time.time()
            event_id, payload = event_payload(b.bin_id, seq, ts, rng)
            tracker.add(event_id, ts, rfc3339(ts))
            b.publish(b.base + "/event", payload)
            await b.writer.drain()
            next_at += rng.uniform(0.5, 1.5) / args.rate

    await asyncio.gather(*(publisher(b) for b in bins))
    elapsed = time.monotonic() - start
    # Wait for the PUBACKs of everything published.
    deadline = time.monotonic() + 30
    while sum(b.acked for b in bins) < tracker.published + len(bins) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.gather(*(b.close() for b in bins))
    return bins, elapsed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10, help="events per second per bin")
    parser.add_argument("--duration", type=float, default=20, help="seconds of publishing")
    parser.add_argument("--poll", type=float, default=0.05, help="API poll interval, seconds")
    parser.add_argument("--fleet", default="load")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--broker")
    parser.add_argument("--dashboard-url")
    parser.add_argument("--dashboard-binary", default=".build/debug/smartbin-dashboard")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="smartbin-load-")
    children = []
    try:
        if args.broker:
            host, port = args.broker.rsplit(":", 1)
            port = int(port)
        else:
            host, port = "127.0.0.1", free_port()
            conf = os.path.join(workdir, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "max_queued_messages 100000\n" + ("user root\n" if os.getuid() == 0 else ""))
            children.append(subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                                             stderr=open(os.path.join(workdir, "mosquitto.log"), "w")))
            for _ in range(100):
                try:
                    socket.create_connection((host, port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
        if args.dashboard_url:
            base_url = args.dashboard_url.rstrip("/")
        else:
            log = open(os.path.join(workdir, "dashboard.log"), "w+")
            children.append(subprocess.Popen(
                [args.dashboard_binary, "--broker", f"{host}:{port}", "--http", "127.0.0.1:0",
                 "--db", os.path.join(workdir, "load.sqlite"), "--client-id", "dashboard-load",
                 "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT))
            base_url = None
            for _ in range(200):
                log.seek(0)
                match = re.search(r"listening on (http://[\d.]+:\d+)", log.read())
                if match:
                    base_url = match.group(1)
                    break
                time.sleep(0.05)
            if not base_url:
                sys.exit("the dashboard did not start (see its log in " + workdir + ")")
            time.sleep(0.5)  # its MQTT subscription

        tracker = Tracker()
        stop = threading.Event()
        before = ingested_total(base_url)
        poll_thread = threading.Thread(target=poller, args=(base_url, tracker, args.poll, stop), daemon=True)
        poll_thread.start()
        window_start = time.monotonic()
        bins, publish_seconds = asyncio.run(run_bins(args, host, port, tracker))
        ingested_in_window = ingested_total(base_url) - before
        window = time.monotonic() - window_start
        deadline = time.monotonic() + 60
        while tracker.outstanding() and time.monotonic() < deadline:
            time.sleep(0.05)
        drained = time.monotonic() - window_start
        stop.set()
        poll_thread.join(timeout=15)
        total_ingested = ingested_total(base_url) - before
        lag_bound = ingest_lag_p99_bound(base_url)

        delays = tracker.delays
        result = {
            "bins": args.bins, "rate_per_bin": args.rate, "duration_s": args.duration,
            "published": tracker.published,
            "offered_events_per_s": round(tracker.published / publish_seconds, 1),
            "ingested": total_ingested,
            "ingested_events_per_s_during_publishing": round(ingested_in_window / window, 1),
            "ingested_events_per_s_until_drained": round(total_ingested / drained, 1),
            "visible_in_api": len(delays), "missing": tracker.outstanding(),
            "delay_ms": {"p50": round(percentile(delays, 0.50) * 1000, 1),
                         "p90": round(percentile(delays, 0.90) * 1000, 1),
                         "p99": round(percentile(delays, 0.99) * 1000, 1),
                         "max": round(max(delays) * 1000, 1) if delays else None},
            "poll_interval_ms": args.poll * 1000,
            "dashboard_ingest_p99_at_most_ms": lag_bound * 1000,
        }
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            d = result["delay_ms"]
            print(f"{args.bins} bins × {args.rate:g} events/s for {args.duration:g} s: "
                  f"published {result['published']} ({result['offered_events_per_s']}/s offered)")
            print(f"ingested {result['ingested']} "
                  f"({result['ingested_events_per_s_during_publishing']}/s while publishing, "
                  f"{result['ingested_events_per_s_until_drained']}/s until drained); "
                  f"visible in /api/events: {result['visible_in_api']}, missing: {result['missing']}")
            print(f"publish → visible in API: p50 {d['p50']} ms, p90 {d['p90']} ms, p99 {d['p99']} ms, "
                  f"max {d['max']} ms (poll every {args.poll * 1000:g} ms)")
            print(f"dashboard's own ts → commit histogram: p99 ≤ {lag_bound * 1000:g} ms")
        if result["missing"]:
            sys.exit(1)
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
