"""HTTP/2 on the daemon's port (the AWS SDK for JavaScript v3 Kinesis client speaks it), with the
``h2`` state machine: prior knowledge (the connection preface as its first bytes) or an h2c
upgrade of an HTTP/1.1 request. The HTTP/1.1 protocol object hands the transport over when it
sees either, so HTTP/1.1 connections pay nothing for this.

Each stream is one request through the same ``Door`` as HTTP/1.1, under the same limits: the
head is admitted (or refused) when its HEADERS arrive, the body is capped as DATA arrives, the
request timeout applies per stream and the idle timeout to the connection. Responses respect the
peer's flow-control windows; a response body that is an async iterable is sent as it is produced
(event streams).
https://www.rfc-editor.org/rfc/rfc9113
https://www.rfc-editor.org/rfc/rfc7540#section-3.2
https://python-hyper.org/projects/h2/en/stable/
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from eventmesh.wire.door import BodyBuffer, Connections, close_body
from eventmesh.wire.render import Response
from eventmesh.wire.router import Request

__all__ = ["H2Protocol"]

log = logging.getLogger("eventmesh.server")

# Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})


class _Stream:
    __slots__ = ("body", "headers", "limit", "since", "task")

    def __init__(self, headers: dict[str, str], body: Any, since: float) -> None:
        self.headers = headers
        self.body = body
        self.limit = 0
        self.since: float | None = since    # loop time the request began; None once it is whole
        self.task: asyncio.Task[None] | None = None


class H2Protocol(asyncio.Protocol):
    """One HTTP/2 connection."""

    def __init__(self, server: Connections, transport: asyncio.Transport,
                 upgrade: tuple[Request, str] | None) -> None:
        self._sent: dict[int, int] = {}   # bytes of a body already sent, for a stream awaiting its window
        self._server = server
        self._settings = server.settings
        self._door = server.door
        self._transport: asyncio.Transport | None = transport
        self._loop = asyncio.get_running_loop()
        self._streams: dict[int, _Stream] = {}
        self._windows: dict[int, asyncio.Event] = {}
        self._idle_since = self._loop.time()
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self._conn = h2.connection.H2Connection(config=config)
        self._conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self._settings.http2_max_streams,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: self._settings.max_header_bytes,
        })
        server.connections.add(self)
        if upgrade is None:
            self._conn.initiate_connection()
        else:
            request, settings_header = upgrade
            try:
                self._conn.initiate_upgrade_connection(settings_header.encode("latin-1"))
            except (h2.exceptions.ProtocolError, ValueError):
                self._flush()
                self.close()
                return
        self._flush()
        if upgrade is not None:
            # The upgraded request is stream 1, already whole (RFC 7540 §3.2).
            stream = self._streams[1] = _Stream(upgrade[0].headers, None, self._loop.time())
            stream.since = None
            self._dispatch(1, upgrade[0])
            self._flush()

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._server.forget(self)
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
            if stream.body is not None:
                stream.body.drop()
        self._streams.clear()
        for event in self._windows.values():
            event.set()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._flush()
            self.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self._begin(event.stream_id, event.headers, event.stream_ended is not None)
            elif isinstance(event, h2.events.DataReceived):
                self._data(event.stream_id, event.data, event.flow_controlled_length)
            elif isinstance(event, h2.events.StreamEnded):
                self._complete(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self._forget(event.stream_id)
            elif isinstance(event, h2.events.WindowUpdated):
                self._window_opened(event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self._flush()
                self.close()
                return
        self._flush()

    def pause_writing(self) -> None:
        """What this connection owes its peer passed the transport's high-water mark: the peer
        reads slower than it sends (a flood of PINGs or SETTINGS, each answered, or requests whose
        answers it does not read). Its frames are not read until that drains, so the answers
        owed stay bounded instead of growing with the flood (the "ping flood" and "settings
        flood" of CVE-2019-9512 and CVE-2019-9515)."""
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def close(self) -> None:
        if self._transport is not None:
            try:
                self._conn.close_connection()
                self._flush()
            except h2.exceptions.ProtocolError:
                pass
            self._transport.close()

    @property
    def idle(self) -> bool:
        return not self._streams

    def sweep(self, now: float) -> None:
        for stream_id, stream in list(self._streams.items()):
            if stream.since is not None and now - stream.since > self._settings.request_timeout_s:
                if stream.body is None:   # refused already, and the client never ended the stream
                    self._refuse_late(stream_id)
                else:
                    self._refuse(stream_id, (408, [("content-type", "text/plain")], b"Request timeout"),
                                 reset=True)
        if self.idle and now - self._idle_since > self._settings.idle_timeout_s:
            self.close()

    # -- streams -------------------------------------------------------------------------------

    def _begin(self, stream_id: int, raw: list[tuple[bytes, bytes]], ended: bool) -> None:
        headers: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1")
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}; {text}" if key == "cookie" and key in headers else (
                f"{headers[key]},{text}" if key in headers else text)
        if "host" not in headers and ":authority" in headers:
            headers["host"] = headers[":authority"]
        stream = self._streams[stream_id] = _Stream(headers, BodyBuffer(self._settings.spool_body_bytes),
                                                    self._loop.time())
        head = self._request(headers, b"")
        verdict = self._door.admit(head)
        if isinstance(verdict, tuple):
            self._refuse(stream_id, verdict)
            return
        stream.limit = verdict
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > verdict:
                self._refuse(stream_id, self._door.too_large(head, verdict))
                return
            stream.body.expect(int(declared))
        if ended:
            return   # StreamEnded follows in the same batch of events

    def _data(self, stream_id: int, data: bytes, flow_controlled: int) -> None:
        stream = self._streams.get(stream_id)
        if flow_controlled:
            try:
                self._conn.acknowledge_received_data(flow_controlled, stream_id)
            except h2.exceptions.StreamClosedError:
                pass
        if stream is None or stream.body is None:
            return
        if stream.body.add(data) > stream.limit:
            self._refuse(stream_id, self._door.too_large(self._request(stream.headers, b""), stream.limit))

    def _refuse_late(self, stream_id: int) -> None:
        try:
            self._conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            pass
        self._finished(stream_id)
        self._flush()

    def _complete(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and stream.body is None and stream.since is not None:
            self._finished(stream_id)   # a refused request's body has all been dropped
            return
        if stream is None or stream.body is None or stream.since is None:
            return
        stream.since = None
        body, stream.body = stream.body.take(), None
        self._dispatch(stream_id, self._request(stream.headers, body))

    def _request(self, headers: dict[str, str], body: Any) -> Request:
        target = headers.get(":path", "/")
        path, _, query = target.partition("?")
        return Request(headers.get(":method", "GET"), path or "/", query, headers, body)

    def _dispatch(self, stream_id: int, request: Request) -> None:
        response = self._door(request)
        stream = self._streams[stream_id]
        if isinstance(response, tuple):
            self._respond(stream_id, response)
        else:
            stream.task = asyncio.ensure_future(self._respond_later(stream_id, response))

    async def _respond_later(self, stream_id: int, pending: Awaitable[Response]) -> None:
        try:
            response = await pending
        except asyncio.CancelledError:
            return
        except Exception:   # a bug in an answer that comes later: answer 500, keep the connection
            log.exception("an answer that came later")
            response = 500, [("content-type", "text/plain")], b"Internal error"
        self._respond(stream_id, response)
        self._flush()

    def _respond(self, stream_id: int, response: Response) -> None:
        status, headers, body = response
        streaming = type(body) is not bytes
        fields = [(":status", str(status))]
        fields += [(k.lower(), v) for k, v in headers if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]
        if not streaming:
            fields.append(("content-length", str(len(body))))
        try:
            self._conn.send_headers(stream_id, fields, end_stream=not streaming and not body)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            self._forget(stream_id)
            return
        if streaming:
            self._start_task(stream_id, self._send_stream(stream_id, body))  # type: ignore[arg-type]
        elif body and not self._send_now(stream_id, body):
            self._start_task(stream_id, self._send_rest(stream_id, body))
        else:
            self._finished(stream_id)

    def _start_task(self, stream_id: int, coroutine: Any) -> None:
        stream = self._streams.get(stream_id)
        task = asyncio.ensure_future(coroutine)
        if stream is not None:
            stream.task = task

    def _send_now(self, stream_id: int, body: bytes, end: bool = True) -> bool:
        """Send what the windows allow; True when all of ``body`` went (and, with ``end``, the
        stream with it)."""
        view = memoryview(body)
        sent = self._sent.get(stream_id, 0)
        while sent < len(view):
            window = min(self._conn.local_flow_control_window(stream_id), self._conn.max_outbound_frame_size)
            if window <= 0:
                self._sent[stream_id] = sent
                return False
            piece = view[sent:sent + window]
            sent += len(piece)
            self._conn.send_data(stream_id, piece.tobytes(), end_stream=end and sent == len(view))
        self._sent.pop(stream_id, None)
        return True

    async def _send_rest(self, stream_id: int, body: bytes) -> None:
        try:
            while self._transport is not None and stream_id in self._streams:
                self._flush()
                await self._wait_window(stream_id)
                if stream_id not in self._streams:
                    return
                if self._send_now(stream_id, body):
                    self._finished(stream_id)
                    self._flush()
                    return
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, asyncio.CancelledError):
            self._forget(stream_id)

    async def _send_stream(self, stream_id: int, body: AsyncIterable[bytes]) -> None:
        try:
            async for piece in body:
                if not piece:
                    continue
                while not self._send_now(stream_id, piece, end=False):
                    self._flush()
                    await self._wait_window(stream_id)
                    if self._transport is None or stream_id not in self._streams:
                        return
                    piece = piece[self._sent.pop(stream_id, 0):]
                self._flush()
            self._conn.send_data(stream_id, b"", end_stream=True)
            self._finished(stream_id)
            self._flush()
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, asyncio.CancelledError):
            self._forget(stream_id)
        finally:
            await close_body(body)

    async def _wait_window(self, stream_id: int) -> None:
        event = self._windows.setdefault(stream_id, asyncio.Event())
        event.clear()
        await event.wait()

    def _window_opened(self, stream_id: int) -> None:
        if stream_id == 0:
            for event in self._windows.values():
                event.set()
        elif stream_id in self._windows:
            self._windows[stream_id].set()

    def _refuse(self, stream_id: int, response: Response, *, reset: bool = False) -> None:
        """Answer now; the rest of the request's body is acknowledged and dropped until the client
        ends the stream (clients that finish sending before they read need that), or, with
        ``reset`` or past the request timeout, the stream is reset."""
        stream = self._streams.get(stream_id)
        if stream is not None and stream.body is not None:
            stream.body.drop()
            stream.body = None
        status, headers, body = response
        try:
            self._conn.send_headers(stream_id, [(":status", str(status))] + [
                (k.lower(), v) for k, v in headers if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]
                + [("content-length", str(len(body)))], end_stream=not body)
            if body:
                self._send_now(stream_id, body)
            if reset or stream is None or stream.since is None:
                self._conn.reset_stream(stream_id, h2.errors.ErrorCodes.NO_ERROR)
                self._finished(stream_id)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            self._finished(stream_id)
        self._flush()

    def _finished(self, stream_id: int) -> None:
        self._streams.pop(stream_id, None)
        self._windows.pop(stream_id, None)
        self._sent.pop(stream_id, None)
        if not self._streams:
            self._idle_since = self._loop.time()
            if self._server.draining:
                self.close()

    def _forget(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            if stream.task is not None and stream.task is not asyncio.current_task():
                stream.task.cancel()
            if stream.body is not None:
                stream.body.drop()
        self._finished(stream_id)

    def _flush(self) -> None:
        data = self._conn.data_to_send()
        if data and self._transport is not None:
            self._transport.write(data)
