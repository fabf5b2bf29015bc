"""The one HTTP client of the engine: carries out ``HttpRequest`` effects in real time.

SNS HTTP/S subscriptions (notifications, confirmations) and EventBridge API destinations both
emit :class:`~eventmesh.effects.HttpRequest`; the daemon installs this module's handler::

    install_http_client(mesh, spawn)     # spawn(coroutine) starts one task (the daemon's _spawn)

Each effect becomes one task that connects, sends the request with ``Connection: close``, reads
the status line and answers the effect's ``reply_to`` with an :class:`~eventmesh.effects.HttpResponse`
(the status, or None with the error when no answer came within the request's timeout), then
flushes the mesh so the retry or DLQ effects the answer caused are carried out. A plain HTTP/1.1
client on anyio streams: the request is one write and only the status line is read, so no HTTP
library is needed. The timeout is real time: it bounds a socket, whatever clock drives the mesh.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import anyio
from anyio.abc import ByteStream

from eventmesh.effects import HttpRequest, HttpResponse
from eventmesh.mesh import Ephemeral, Mesh

__all__ = ["MAX_STATUS_LINE_BYTES", "Spawn", "install_http_client", "send"]

MAX_STATUS_LINE_BYTES = 8_192  # give up on a peer that sends no status line within this much

Spawn = Callable[[Coroutine[Any, Any, None]], Any]
"""Starts one coroutine as a task (``eventmesh.daemon.Daemon._spawn``)."""


def _encode(request: HttpRequest, host_header: str, target: str) -> bytes:
    body = request.body.encode()
    lines = [f"{request.method} {target} HTTP/1.1", f"Host: {host_header}", f"Content-Length: {len(body)}",
             "Connection: close"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def send(request: HttpRequest) -> HttpResponse:
    """Send ``request``; never raises: failures come back as ``HttpResponse(None, error)``."""
    url = urlsplit(request.url)
    tls = url.scheme == "https"
    host = url.hostname or ""
    try:
        port = url.port or (443 if tls else 80)
    except ValueError:
        return HttpResponse(None, f"bad port in {request.url}")
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    host_header = url.netloc.rsplit("@", 1)[-1]
    try:
        with anyio.fail_after(request.timeout_s):
            stream: ByteStream
            if tls:
                stream = await anyio.connect_tcp(host, port, tls=True, tls_standard_compatible=False)
            else:
                stream = await anyio.connect_tcp(host, port)
            async with stream:
                await stream.send(_encode(request, host_header, target))
                head = b""
                while b"\r\n" not in head and len(head) < MAX_STATUS_LINE_BYTES:
                    head += await stream.receive()
    except TimeoutError:
        return HttpResponse(None, "timeout")
    except (OSError, anyio.EndOfStream, anyio.BrokenResourceError) as exc:
        return HttpResponse(None, f"{type(exc).__name__}: {exc}")
    parts = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return HttpResponse(None, "malformed response")
    return HttpResponse(int(parts[1]))


Answer = Callable[[int, HttpResponse], None]


async def _carry_out(answer: Answer, request: HttpRequest) -> None:
    answer(request.reply_to, await send(request))


def install_http_client(mesh: Mesh, spawn: Spawn, answer: Answer | None = None) -> Ephemeral:
    """Subscribe to ``HttpRequest`` effects of ``mesh``; each one is sent in a task from ``spawn``
    and its response taken by ``answer(token, response)`` (default: the mesh's reply, then its
    flush; a daemon with a data directory journals it first).

    Returns the handler, for ``mesh.unsubscribe(HttpRequest, handler)`` at shutdown.
    """

    def reply(token: int, response: HttpResponse) -> None:
        mesh.reply(token, response)
        mesh.flush()

    taker = answer or reply

    def on_request(request: HttpRequest) -> None:
        spawn(_carry_out(taker, request))

    handler = Ephemeral(on_request)  # a snapshot keeps no driver: a restarted daemon installs its own
    mesh.subscribe(HttpRequest, handler)
    return handler
