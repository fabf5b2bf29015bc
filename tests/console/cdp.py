"""A headless Chromium driven over the DevTools protocol, just enough to click and read a page:
a minimal WebSocket client (RFC 6455: text frames, client masking) over a plain socket, so the
browser tests need nothing beyond the OS's chromium package."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 30
POLL_S = 0.1


class Page:
    """One browser tab: ``evaluate(js)`` runs an expression (awaiting a promise) and returns it."""

    def __init__(self, browser: str, url: str, profile: Path) -> None:
        self.process = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
             "--remote-debugging-port=0", url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(POLL_S)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            target = next(t for t in json.loads(reply.read()) if t["type"] == "page")
        self._socket = _connect(target["webSocketDebuggerUrl"])
        self._next_id = 0

    def evaluate(self, expression: str) -> Any:
        self._next_id += 1
        _send(self._socket, json.dumps({"id": self._next_id, "method": "Runtime.evaluate", "params": {
            "expression": expression, "awaitPromise": True, "returnByValue": True}}))
        while True:
            message = json.loads(_receive(self._socket))
            if message.get("id") == self._next_id:
                result = message["result"]
                if "exceptionDetails" in result:
                    raise RuntimeError(result["exceptionDetails"])
                return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = START_TIMEOUT_S) -> Any:
        """Evaluate until the value is truthy (real time: the page fetches from the daemon). An
        expression that throws counts as not yet true (the document may still be loading)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None
            if value:
                return value
            time.sleep(POLL_S)
        raise AssertionError(f"never true in the page: {expression}")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _connect(url: str) -> socket.socket:
    host_port, path = url.removeprefix("ws://").split("/", 1)
    host, port = host_port.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"no WebSocket upgrade: {head!r}")
    return sock


def _send(sock: socket.socket, text: str) -> None:
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                              bytes([0x80 | 126]) + struct.pack("!H", n) if n < 65536 else
                              bytes([0x80 | 127]) + struct.pack("!Q", n))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("DevTools closed the connection")
        data += chunk
    return data


def _receive(sock: socket.socket) -> str:
    """One text message (server frames are unmasked; continuation frames joined)."""
    parts = []
    while True:
        first, second = _exactly(sock, 2)
        n = second & 0x7F
        if n == 126:
            n = struct.unpack("!H", _exactly(sock, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", _exactly(sock, 8))[0]
        parts.append(_exactly(sock, n))
        if first & 0x80:
            return b"".join(parts).decode()
