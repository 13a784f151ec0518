#!/usr/bin/env python3
"""Loads the SmartBin fleet dashboard in headless Chromium and checks that live events appear
without a reload, over the Chrome DevTools Protocol (standard library only: a minimal
WebSocket client is included).

Steps: start `chromium --headless=new --remote-debugging-port=0` with a throw-away profile,
open the page, wait until its event stream is connected (`#conn` reads "live"), set a marker
on `window`, print `READY` on stdout (the caller then publishes events), wait until every id
given with --expect-id is in the live feed (`#feed li[data-id]`), check the marker survived
(no reload happened), optionally save a screenshot, print `OK <details>` and exit 0.
Any failure prints `FAIL <reason>` and exits 1; a missing Chromium exits 77.

Usage:
  tools/dashboard_browser_check.py --url http://127.0.0.1:8080/ [--expect-id ID ...]
      [--expect-ids-file F] [--timeout 30] [--screenshot docs/dashboard.png]
      [--width 1280 --height 900] [--chromium /usr/bin/chromium]
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


class WebSocket:
    """Just enough RFC 6455 for CDP: client handshake, masked text frames out, text frames in."""

    def __init__(self, url, timeout):
        parts = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("websocket handshake: connection closed")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"websocket handshake refused: {head[:200]!r}")

    def send(self, text):
        payload = text.encode()
        header = bytearray([0x81])
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        elif len(payload) < 65536:
            header.append(0x80 | 126)
            header += struct.pack(">H", len(payload))
        else:
            header.append(0x80 | 127)
            header += struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("websocket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            if b1 & 0x80:
                mask = self._read(4)
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(length)))
            else:
                data = self._read(length)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise RuntimeError("websocket closed by the browser")
            if opcode in (0x9, 0xA):
                continue
            message += data
            if b0 & 0x80:
                return message.decode()


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.receive())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")


def save_screenshot(page, args):
    params = {"format": "png"}
    if args.full_page:
        size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        params.update(captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1})
    shot = page.call("Page.captureScreenshot", **params)
    os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
    with open(args.screenshot, "wb") as f:
        f.write(base64.b64decode(shot["data"]))


def fail(message):
    print(f"FAIL {message}", flush=True)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--expect-id", action="append", default=[])
    parser.add_argument("--expect-ids-file")
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--screenshot")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--static", action="store_true",
                        help="a page without a live stream (a bin page): load, screenshot, done")
    parser.add_argument("--full-page", action="store_true", help="screenshot the whole page, not the viewport")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    if not os.access(args.chromium, os.X_OK):
        print(f"SKIP chromium not found at {args.chromium}", flush=True)
        sys.exit(77)

    profile = tempfile.mkdtemp(prefix="smartbin-chromium-")
    command = [args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
               "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
               f"--user-data-dir={profile}", f"--window-size={args.width},{args.height}", "about:blank"]
    browser = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + args.timeout
    try:
        # "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…" on stderr.
        port = None
        while port is None:
            if time.monotonic() > deadline or browser.poll() is not None:
                fail("chromium did not start its DevTools endpoint")
            line = browser.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                port = int(match.group(1))
        # Drain stderr from now on so Chromium never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in browser.stderr], daemon=True).start()

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
            targets = [t for t in json.load(response) if t.get("type") == "page"]
        if not targets:
            fail("no page target")
        page = Page(WebSocket(targets[0]["webSocketDebuggerUrl"], timeout=max(5, args.timeout)))
        page.call("Page.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=args.width, height=args.height,
                  deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=args.url)

        def wait_for(expression, what):
            while time.monotonic() < deadline:
                try:
                    if page.evaluate(expression):
                        return
                except RuntimeError:
                    pass
                time.sleep(0.1)
            fail(f"timed out waiting for {what}")

        if args.static:
            wait_for("document.readyState === 'complete'", "the page to load")
            if args.screenshot:
                save_screenshot(page, args)
            print("OK static", flush=True)
            return
        wait_for("document.readyState === 'complete' && !!document.getElementById('conn') && "
                 "document.getElementById('conn').textContent === 'live'", "the page's live connection")
        page.evaluate("window.__smartbinMarker = 'no-reload'; true")
        rows_before = page.evaluate("document.querySelectorAll('#bins tbody tr').length")
        print("READY", flush=True)

        expected = list(args.expect_id)
        if not expected and not args.expect_ids_file:
            time.sleep(1.5)  # nothing to wait for: give the stream a moment to bring events in
        if args.expect_ids_file:
            # The caller may write this file after READY; wait for it.
            while not os.path.exists(args.expect_ids_file):
                if time.monotonic() > deadline:
                    fail(f"{args.expect_ids_file} never appeared")
                time.sleep(0.05)
            time.sleep(0.05)
            with open(args.expect_ids_file) as f:
                expected += [line.strip() for line in f if line.strip()]
        wanted = json.dumps(expected)
        wait_for(f"(function(){{var seen=new Set(Array.from(document.querySelectorAll('#feed li[data-id]'))"
                 f".map(function(li){{return li.getAttribute('data-id');}}));"
                 f"return {wanted}.every(function(id){{return seen.has(id);}});}})()",
                 f"{len(expected)} new event(s) in the live feed")
        if page.evaluate("window.__smartbinMarker") != "no-reload":
            fail("the page reloaded")
        navigations = page.evaluate("performance.getEntriesByType('navigation').length")
        rows = page.evaluate("document.querySelectorAll('#bins tbody tr').length")
        feed = page.evaluate("document.querySelectorAll('#feed li').length")
        if args.screenshot:
            time.sleep(1.3)  # let the "new event" highlight fade
            save_screenshot(page, args)
        print(f"OK expected={len(expected)} feed_items={feed} bin_rows={rows} (before: {rows_before}) "
              f"navigations={navigations}", flush=True)
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=5)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
