"""Raw-socket helpers for the HTTP door tests: send exact bytes, read one response, move the
door's timeout sweep forward without waiting (the door's timeouts are real time; its sweep
takes the time as an argument, so tests pass a later one instead of sleeping)."""

from __future__ import annotations

import asyncio
import select
import socket

from eventmesh.daemon import ServerHandle

READ_TIMEOUT_S = 10.0


def connect(handle: ServerHandle) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", handle.daemon.bound_port))
    sock.settimeout(READ_TIMEOUT_S)
    return sock


def host(handle: ServerHandle) -> str:
    return f"127.0.0.1:{handle.daemon.bound_port}"


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length (status, lower-case headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def closed(sock: socket.socket) -> bool:
    """True when the daemon has closed the connection (EOF or reset)."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def nothing_pending(sock: socket.socket) -> bool:
    """No byte has arrived and the connection is open (a zero-wait poll: writes on loopback
    land in the socket at once)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


def sweep_ahead(handle: ServerHandle, seconds: float) -> None:
    """Run the door's timeout sweep as if ``seconds`` of real time had passed."""

    async def sweep() -> None:
        now = asyncio.get_running_loop().time() + seconds
        for connection in list(handle.daemon.http.connections):
            connection.sweep(now)

    asyncio.run_coroutine_threadsafe(sweep(), handle.loop).result(timeout=READ_TIMEOUT_S)


def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    if body and "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
