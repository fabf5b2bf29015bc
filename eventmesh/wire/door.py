"""What the HTTP door serves and keeps: the ``Door`` (guards, limits, the handler), the open
connections of both protocols with their timeout sweep and graceful drain, and request bodies as
they arrive (``BodyBuffer``). ``server.py`` (HTTP/1.1) and ``http2.py`` share these.
"""

from __future__ import annotations

import asyncio
import logging
import mmap
import tempfile
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import IO, Any, Protocol

from eventmesh.wire.limits import ServerSettings
from eventmesh.wire.render import Response
from eventmesh.wire.router import Request

__all__ = ["BodyBuffer", "Connections", "Door", "SWEEP_INTERVAL_S", "close_body"]

_log = logging.getLogger("eventmesh.server")

SWEEP_INTERVAL_S = 0.5   # how often timeouts are looked at (they fire within this much late)


class Door(Protocol):
    """What the server serves: ``admit`` sees each request's head (body empty) and returns a
    refusal to send at once or the largest body it will take; ``too_large`` words the refusal
    of a body past that; calling it answers the request."""

    def admit(self, request: Request) -> Response | int: ...

    def too_large(self, request: Request, limit: int) -> Response: ...

    def __call__(self, request: Request) -> Response | Awaitable[Response]: ...


class BodyBuffer:
    """A request body as it arrives: chunks in memory, or past ``spool_at`` bytes an unlinked
    temporary file, handed over as a read-only ``mmap`` (file pages the kernel may drop, not heap)."""

    __slots__ = ("_chunks", "_file", "_spool_at", "size")

    def __init__(self, spool_at: int) -> None:
        self._chunks: list[bytes] = []
        self._file: IO[bytes] | None = None
        self._spool_at = spool_at
        self.size = 0

    def expect(self, length: int) -> None:
        """The declared length: a large body goes to a file from its first byte."""
        if length > self._spool_at and self._file is None:
            self._file = tempfile.TemporaryFile(prefix="eventmesh-body-")

    def add(self, data: bytes) -> int:
        """Append ``data``; returns the size so far."""
        self.size += len(data)
        if self._file is not None:
            self._file.write(data)
        else:
            self._chunks.append(data)
            if self.size > self._spool_at:
                self._file = tempfile.TemporaryFile(prefix="eventmesh-body-")
                self._file.write(b"".join(self._chunks))
                self._chunks = []
        return self.size

    def take(self) -> Any:
        """The whole body: ``bytes``, or an ``mmap`` for a spooled one."""
        spool, self._file = self._file, None
        if spool is None:
            chunks, self._chunks = self._chunks, []
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            if spool.tell() == 0:
                return b""
            spool.flush()
            return mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ)
        finally:
            spool.close()   # the mapping keeps the unlinked file's pages until it is collected

    def drop(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._chunks = []


class Connections:
    """The open connections of one listening socket, their settings and the timeout sweep."""

    def __init__(self, door: Door, settings: ServerSettings | None = None) -> None:
        self.door = door
        self.settings = settings or ServerSettings()
        self.connections: set[Any] = set()
        self.draining = False
        # Connection affinity (a daemon of several workers sets it): ``hand_over(fd, owner)``
        # passes an idle connection's socket to the process ``owner`` names (True: sent, the
        # connection is closed here; False: it stays).
        self.hand_over: Callable[[int, int], bool] | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._emptied: asyncio.Event | None = None

    def start_sweeping(self) -> None:
        if self._sweeper is None:
            self._schedule_sweep()

    def _schedule_sweep(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(SWEEP_INTERVAL_S, self._sweep)

    def _sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        for connection in list(self.connections):
            connection.sweep(now)
        self._schedule_sweep()

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self.connections):
            connection.close()

    def close_idle(self) -> None:
        """Draining: close every connection that has no request under way."""
        self.draining = True
        for connection in list(self.connections):
            if connection.idle:
                connection.close()

    def forget(self, connection: Any) -> None:
        """A connection closed (both protocols call this)."""
        self.connections.discard(connection)
        if not self.connections and self._emptied is not None:
            self._emptied.set()

    async def drained(self, timeout_s: float) -> bool:
        """Draining: wait until every connection has answered and closed, at most ``timeout_s``."""
        self.close_idle()
        if not self.connections:
            return True
        self._emptied = asyncio.Event()
        try:
            await asyncio.wait_for(self._emptied.wait(), timeout_s)
        except TimeoutError:
            return False
        return True


async def close_body(body: AsyncIterable[bytes]) -> None:
    """Close a streamed body however its writing ended (finished, client gone, cancelled), so
    the producer's clean-up runs now rather than whenever the iterator is collected."""
    close = getattr(body, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception:  # its clean-up failing must not break the connection's own
            _log.exception("closing a streamed response body")
