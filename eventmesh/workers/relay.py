"""A streamed response relayed from the worker that produces it (a Kinesis SubscribeToShard).

The owner sends the body's pieces as ``Chunk`` messages; this is the body the door writes to the
client, fed by them. When the client goes away first, the door closes it and the owner is told
(``Cancel``), so its stream's clean-up runs there too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from eventmesh.workers.frames import Cancel

__all__ = ["RelayedBody"]

_END = object()


class RelayedBody:
    """An async iterator of the pieces of one streamed answer."""

    def __init__(self, channel: Any, ident: int) -> None:
        self._channel = channel
        self._id = ident
        self._pieces: asyncio.Queue[Any] = asyncio.Queue()
        self._done = False

    def take(self, data: bytes, last: bool) -> None:
        if data:
            self._pieces.put_nowait(data)
        if last:
            self._pieces.put_nowait(_END)

    def fail(self, exc: BaseException) -> None:
        self._pieces.put_nowait(exc)

    def __aiter__(self) -> RelayedBody:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        piece = await self._pieces.get()
        if piece is _END:
            self._done = True
            raise StopAsyncIteration
        if isinstance(piece, BaseException):
            self._done = True
            raise StopAsyncIteration   # the owner went away: the stream ends here
        return piece  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        if self._done:
            return
        self._done = True
        channel = self._channel
        if channel.pending.pop(self._id, None) is not None and not channel.closed:
            channel.send(Cancel(self._id))
