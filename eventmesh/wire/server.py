"""The daemon's front door: a thin asyncio Protocol on httptools, HTTP/1.1 with keep-alive, and
HTTP/2 (prior knowledge or h2c upgrade) on the same port.

Measured here at ≈55 K req/s against 6–18 K for ASGI frameworks (DESIGN.md), so no framework.
Synchronous operations are answered inside ``data_received``; only asynchronous ones (long polls)
become a task, and a connection answers its requests in order.

The door's limits (``wire.limits.ServerSettings``) are kept here, cheaply on the hot path: header
count and size while the head arrives; a body's size from ``Content-Length`` as soon as the head is
complete (the ``Door`` names the limit, and may refuse the request outright); the request and
idle timeouts by one sweep every half second over the open connections (a request costs two clock reads,
no timer); the connection cap when a connection opens. Bodies past ``spool_body_bytes`` go to an
unlinked temporary file as they arrive and reach the handler as a read-only ``mmap``, so a large
upload is never held twice in memory.
https://www.rfc-editor.org/rfc/rfc9112
https://www.rfc-editor.org/rfc/rfc9113#section-3.2
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable
from http import HTTPStatus
from typing import Any

import httptools

from eventmesh.wire.door import BodyBuffer, Connections, Door, close_body
from eventmesh.wire.render import Response
from eventmesh.wire.router import Request

__all__ = ["Door", "Handler", "HttpProtocol", "HttpServer", "json_response"]

log = logging.getLogger("eventmesh.server")

Handler = Callable[[Request], "Response | Awaitable[Response]"]

_REASONS = {s.value: s.phrase for s in HTTPStatus}
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LINGER_S = 2.0   # after refusing a request, how long the client's remaining bytes are read and dropped


_NO_REQUEST = Request("GET", "/", "", {}, b"")   # a connection's head between requests


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing: ``response`` is sent and the connection closed."""

    def __init__(self, response: Response) -> None:
        super().__init__(response[0])
        self.response = response


def plain(status: int, text: str) -> Response:
    return status, [("Content-Type", "text/plain")], text.encode()


def _head(status: int, headers: list[tuple[str, str]], length: int | None, keep_alive: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"]
    for name, value in headers:
        lines.append(f"{name}: {value}\r\n")
    lines.append(f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n")
    if not keep_alive:
        lines.append("Connection: close\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


class HttpServer(Connections):
    """The door's connections, and the protocol factory for ``loop.create_server``."""

    def protocol(self) -> asyncio.Protocol:
        """Each connection starts as HTTP/1.1 (and may become HTTP/2 on its first bytes)."""
        self.start_sweeping()
        return HttpProtocol(self)

    def handed_in(self) -> asyncio.Protocol:
        """The protocol of a connection another worker handed over (admitted there already:
        not refused by the connection cap here, which counts it from now on)."""
        self.start_sweeping()
        protocol = HttpProtocol(self)
        protocol.admitted = True
        return protocol


class HttpProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection (or, after its first bytes, the HTTP/2 connection it became)."""

    def __init__(self, server: Connections) -> None:
        self._server = server
        self._settings = server.settings
        self._door = server.door
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._url = b""
        self._headers: dict[str, str] = {}
        # A body in memory (chunks), or past spool_body_bytes a BodyBuffer on a file.
        self._chunks: list[bytes] = []
        self._body_size = 0
        self._spool: BodyBuffer | None = None
        self._body_limit = 0
        self._head_size = 0
        self._header_count = 0
        self._head = _NO_REQUEST
        self._in_head = False
        self._in_body = False
        self._refused = False
        self._linger_until = 0.0
        self._upgrade_h2: Request | None = None
        self._queue: deque[tuple[Request, bool]] = deque()
        self._busy: asyncio.Task[None] | None = None
        self._first = True
        self.admitted = False
        # Connection affinity: how many answers in a row came from one other worker (``_from``).
        self._from = -1
        self._streak = 0
        # Timeouts (loop time): a request under way since, or idle since.
        self._reading_since: float | None = None
        self._idle_since = self._loop.time()

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        connections = self._server.connections
        if not self.admitted and (len(connections) >= self._settings.max_connections or self._server.draining):
            self._write(*plain(503, "Too many connections"), False)
            return
        connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._busy is not None:
            self._busy.cancel()
        self._server.forget(self)
        self._drop_body()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return   # lingering after a refusal: what the client still sends is dropped
        if self._first:
            self._first = False
            if data[:3] == b"PRI" and self._settings.http2 and H2_PREFACE.startswith(data[:24]):
                self._switch_to_h2(data, None)
                return
        if self._reading_since is None:
            self._reading_since = self._loop.time()
        if self._in_head:
            # Every byte before this chunk belonged to an unfinished head: the parser holds them.
            if self._head_size > self._settings.max_header_bytes:
                self._refuse(plain(431, "Request header fields too large"))
                return
            self._head_size += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            refused = exc.__context__
            if not isinstance(refused, _Refused):   # a bug in a callback: say so, answer 500
                log.error("internal error in an HTTP parser callback", exc_info=refused)
                refused = _Refused(plain(500, "Internal error"))
            self._refuse(refused.response)
        except httptools.HttpParserUpgrade as exc:
            self._upgraded(data[exc.args[0]:] if exc.args and isinstance(exc.args[0], int) else b"")
        except httptools.HttpParserError:
            self._refuse(plain(400, "Malformed HTTP request"))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    @property
    def idle(self) -> bool:
        return self._busy is None and not self._queue and self._reading_since is None

    def eof_received(self) -> bool | None:
        return None   # the client is done: close

    def sweep(self, now: float) -> None:
        """Close or answer a connection past a timeout (the server's sweep calls this)."""
        if self._refused:
            if now > self._linger_until:
                self.close()
        elif self._reading_since is not None:
            settings = self._settings
            limit = settings.request_timeout_s if self._in_body else settings.header_timeout_s
            if now - self._reading_since > limit:
                self._refuse(plain(408, "Request timeout"))
        elif self.idle and now - self._idle_since > self._settings.idle_timeout_s:
            self.close()

    # -- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._chunks = []
        self._body_size = 0
        self._head_size = 0
        self._header_count = 0
        self._in_head = True
        self._in_body = False
        if self._reading_since is None:
            self._reading_since = self._loop.time()

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._settings.max_header_bytes:
            raise _Refused(plain(414, "URI too long"))

    def on_header(self, name: bytes, value: bytes) -> None:
        headers = self._headers
        self._header_count += 1
        key = name.decode("latin-1").lower()
        if key in headers:   # a repeated header: one comma-joined value (RFC 9110 §5.3)
            headers[key] += "," + value.decode("latin-1")
        else:
            headers[key] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._in_body = True
        settings = self._settings
        headers = self._headers
        if self._header_count > settings.max_header_count:
            raise _Refused(plain(431, "Too many request header fields"))
        # Exact here; while the head arrives data_received bounds what the parser holds.
        if len(self._url) + sum(map(len, headers)) + sum(map(len, headers.values())) \
                + 4 * len(headers) > settings.max_header_bytes:
            raise _Refused(plain(431, "Request header fields too large"))
        url = httptools.parse_url(self._url) if self._url else None
        path = url.path.decode("latin-1") if url is not None and url.path else "/"
        query = url.query.decode("latin-1") if url is not None and url.query else ""
        # The head, admitted now; the same object carries the body to the handler.
        self._head = head = Request(self._parser.get_method().decode("latin-1"), path, query, headers, b"")
        verdict = self._door.admit(head)
        if isinstance(verdict, tuple):
            raise _Refused(verdict)
        self._body_limit = verdict
        declared = headers.get("content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > verdict:
                raise _Refused(self._door.too_large(head, verdict))
            if declared.isdigit() and int(declared) > settings.spool_body_bytes:
                self._spool = BodyBuffer(settings.spool_body_bytes)
                self._spool.expect(int(declared))
        if "expect" in headers and headers["expect"].lower() == "100-continue" and self._transport is not None:
            self._transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        if self._spool is not None:
            size = self._spool.add(body)
        else:
            self._chunks.append(body)
            self._body_size = size = self._body_size + len(body)
            if size > self._settings.spool_body_bytes:   # chunked, and large: to a file from here
                self._spool = BodyBuffer(self._settings.spool_body_bytes)
                self._spool.expect(size + 1)
                for chunk in self._chunks:
                    self._spool.add(chunk)
                self._chunks = []
        if size > self._body_limit:   # chunked: no Content-Length said so before
            raise _Refused(self._door.too_large(self._head, self._body_limit))

    def on_message_complete(self) -> None:
        request, self._head = self._head, _NO_REQUEST   # an idle connection holds no body
        if self._spool is not None:
            request.body, self._spool = self._spool.take(), None
        else:
            chunks = self._chunks
            request.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._reading_since = None
        self._in_body = False
        keep_alive = self._parser.should_keep_alive() and not self._server.draining
        if "upgrade" in request.headers and self._parser.should_upgrade() and self._settings.http2 \
                and request.headers["upgrade"].lower() == "h2c":
            self._upgrade_h2 = request
            return
        if self._busy is not None:
            self._queue.append((request, keep_alive))
            return
        self._dispatch(request, keep_alive)

    # -- requests ------------------------------------------------------------------------------

    def _refuse(self, response: Response) -> None:
        """Answer ``response`` and close: the rest of this connection's bytes are dropped."""
        if self._refused:
            return
        self._refused = True
        self._reading_since = None
        self._drop_body()
        transport = self._transport
        if self._busy is not None or transport is None:
            self.close()
            return
        # Answer, then linger: closing with the client's bytes unread would reset the connection
        # and lose the answer, so the write side closes now and the socket when the client
        # stops (or LINGER_S later).
        status, headers, body = response
        transport.write(_head(status, headers, len(body), False) + body)
        if transport.can_write_eof():
            transport.write_eof()
            self._linger_until = self._loop.time() + LINGER_S
        else:
            transport.close()

    def _drop_body(self) -> None:
        self._chunks = []
        if self._spool is not None:
            self._spool.drop()
            self._spool = None

    def _upgraded(self, rest: bytes) -> None:
        request, self._upgrade_h2 = self._upgrade_h2, None
        if request is None:
            self._refuse(plain(400, "Unsupported upgrade"))  # only h2c is served
            return
        settings = request.headers.get("http2-settings", "")
        if self._transport is not None:
            self._transport.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        self._switch_to_h2(rest, (request, settings))

    def _switch_to_h2(self, data: bytes, upgrade: tuple[Request, str] | None) -> None:
        from eventmesh.wire.http2 import H2Protocol

        transport = self._transport
        self._server.connections.discard(self)
        if transport is None:
            return
        protocol = H2Protocol(self._server, transport, upgrade)
        transport.set_protocol(protocol)
        if data:
            protocol.data_received(data)

    def _dispatch(self, request: Request, keep_alive: bool) -> None:
        response = self._door(request)
        if isinstance(response, tuple):
            self._streak = 0
            if type(response[2]) is bytes:
                self._write(response[0], response[1], response[2], keep_alive)
            else:
                self._respond(response, keep_alive)
            return
        if hasattr(response, "add_done_callback"):   # an asyncio Future or a held response
            # An answer another worker is producing, or one held until it is durable: a
            # callback, not a task per request.
            self._busy = response  # type: ignore[assignment]
            response.add_done_callback(functools.partial(self._answered, keep_alive))
            return
        self._busy = asyncio.ensure_future(self._respond_later(response, keep_alive))

    def _answered(self, keep_alive: bool, future: asyncio.Future[Response]) -> None:
        if future.cancelled() or self._busy is not future:
            return
        self._busy = None
        try:
            response = future.result()
        except Exception:
            log.exception("an answer from another worker")
            response = plain(500, "Internal error")
        self._respond(response, keep_alive)
        while self._queue and self._busy is None and self._transport is not None:
            request, keep = self._queue.popleft()
            self._dispatch(request, keep)
        owner = getattr(future, "owner", -1)
        if owner >= 0 and self._server.hand_over is not None:
            self._follow(owner)

    def _follow(self, owner: int) -> None:
        """Connection affinity: an answer came from worker ``owner``. After ``handover_after``
        in a row, the connection, idle between requests, is handed to that worker, which
        serves what it sends from then on without forwarding it."""
        if owner != self._from:
            self._from, self._streak = owner, 0
        self._streak += 1
        after = self._settings.handover_after
        transport = self._transport
        if not after or self._streak < after or transport is None or not self.idle or self._refused \
                or self._server.draining or transport.get_write_buffer_size():
            return
        sock = transport.get_extra_info("socket")
        if sock is None:
            return
        self._streak = 0
        # Nothing of the next request has been read here (the connection is idle and reads stop
        # now), so the new owner reads it from the socket as if it had accepted it.
        transport.pause_reading()
        assert self._server.hand_over is not None
        if self._server.hand_over(sock.fileno(), owner):
            transport.abort()   # closes this process's descriptor only: the connection stays open
        else:
            transport.resume_reading()

    async def _respond_later(self, pending: Awaitable[Response], keep_alive: bool) -> None:
        try:
            response = await pending
        except asyncio.CancelledError:
            return
        except Exception:   # a bug in an answer that comes later: say so, answer 500, keep serving
            log.exception("an answer that came later")
            response = plain(500, "Internal error")
        self._busy = None
        self._respond(response, keep_alive)
        while self._queue and self._busy is None and self._transport is not None:
            request, keep = self._queue.popleft()
            self._dispatch(request, keep)

    def _respond(self, response: Response, keep_alive: bool) -> None:
        status, headers, body = response
        if type(body) is bytes:
            self._write(status, headers, body, keep_alive)
        else:
            self._busy = asyncio.ensure_future(self._stream(status, headers, body, keep_alive))  # type: ignore[arg-type]

    async def _stream(self, status: int, headers: list[tuple[str, str]], body: AsyncIterable[bytes],
                      keep_alive: bool) -> None:
        """A response body produced over time: chunked transfer coding, one chunk per piece."""
        transport = self._transport
        if transport is None:
            return
        transport.write(_head(status, headers, None, keep_alive))
        try:
            async for piece in body:
                if self._transport is None:
                    return
                if piece:
                    transport.write(b"%x\r\n%b\r\n" % (len(piece), piece))
            transport.write(b"0\r\n\r\n")
        except asyncio.CancelledError:
            return
        finally:
            await close_body(body)
        self._busy = None
        self._idle_since = self._loop.time()
        if not keep_alive:
            transport.close()
        while self._queue and self._busy is None and self._transport is not None:
            request, keep = self._queue.popleft()
            self._dispatch(request, keep)

    def _write(self, status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        transport.write(_head(status, headers, len(body), keep_alive) + body)
        self._idle_since = self._loop.time()
        if not keep_alive:
            transport.close()
        elif self._server.draining and self.idle:
            transport.close()


def json_response(status: int, document: Any) -> Response:
    import msgspec

    return status, [("Content-Type", "application/json")], msgspec.json.encode(document)
