"""Carries out ``HttpDelivery`` effects in real time: one short POST per notification (spec sns.md §5.1, §7).

The topic core only emits the effect; this module is the I/O half the real-time driver installs::

    install_http_delivery(mesh, spawn)     # spawn(coroutine) starts one task (the daemon's _spawn)

Each effect becomes one task that connects, sends the request with ``Connection: close``, reads
the status line and answers the effect's ``reply`` with an :class:`HttpOutcome` (status, or None
with the error when no answer came within the timeout), then flushes the mesh so the retry or
DLQ effects the answer caused are carried out. A plain HTTP/1.1 client on anyio streams: the
request is one write and only the status line is read, so no HTTP library is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import anyio
from anyio.abc import ByteStream

from eventmesh.mesh import Mesh
from eventmesh.services.sns.delivery import HttpDelivery, HttpOutcome

__all__ = ["post", "install_http_delivery", "Spawn"]

MAX_STATUS_LINE_BYTES = 8_192  # give up on a peer that sends no status line within this much

Spawn = Callable[[Coroutine[Any, Any, None]], Any]
"""Starts one coroutine as a task (``eventmesh.daemon.Daemon._spawn``)."""


def _request(delivery: HttpDelivery, host_header: str, target: str) -> bytes:
    body = delivery.body.encode()
    lines = [f"POST {target} HTTP/1.1", f"Host: {host_header}", f"Content-Length: {len(body)}",
             "Connection: close"]
    lines += [f"{name}: {value}" for name, value in delivery.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def post(delivery: HttpDelivery) -> HttpOutcome:
    """POST ``delivery``; never raises: failures come back as ``HttpOutcome(None, error)``."""
    url = urlsplit(delivery.url)
    tls = url.scheme == "https"
    host = url.hostname or ""
    port = url.port or (443 if tls else 80)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    host_header = url.netloc.rsplit("@", 1)[-1]
    try:
        with anyio.fail_after(delivery.timeout_s):
            stream: ByteStream
            if tls:
                stream = await anyio.connect_tcp(host, port, tls=True, tls_standard_compatible=False)
            else:
                stream = await anyio.connect_tcp(host, port)
            async with stream:
                await stream.send(_request(delivery, host_header, target))
                head = b""
                while b"\r\n" not in head and len(head) < MAX_STATUS_LINE_BYTES:
                    head += await stream.receive()
    except TimeoutError:
        return HttpOutcome(None, "timeout")
    except (OSError, anyio.EndOfStream, anyio.BrokenResourceError) as exc:
        return HttpOutcome(None, f"{type(exc).__name__}: {exc}")
    parts = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return HttpOutcome(None, "malformed response")
    return HttpOutcome(int(parts[1]))


async def _deliver(mesh: Mesh, delivery: HttpDelivery) -> None:
    outcome = await post(delivery)
    if delivery.reply is not None:
        delivery.reply(outcome)
        mesh.flush()


def install_http_delivery(mesh: Mesh, spawn: Spawn) -> Callable[[HttpDelivery], None]:
    """Subscribe to ``HttpDelivery`` effects of ``mesh``; each one is POSTed in a task from ``spawn``.

    Returns the handler, for ``mesh.unsubscribe(HttpDelivery, handler)`` at shutdown.
    """

    def on_delivery(delivery: HttpDelivery) -> None:
        spawn(_deliver(mesh, delivery))

    mesh.subscribe(HttpDelivery, on_delivery)
    return on_delivery
