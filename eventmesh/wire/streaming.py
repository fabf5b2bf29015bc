"""Streaming responses: what a handler answers when its output is an event stream, and what the
router hands the HTTP door for it.

A handler of an operation whose output is an event stream (Kinesis SubscribeToShard) returns an
:class:`EventStream`: the operation's initial response and an async iterator of ``(event type,
payload in the model's shape)``; a :class:`~eventmesh.errors.ServiceError` raised by the iterator
ends the stream with that modelled exception. The router frames it for the request's protocol
(JSON or CBOR payloads in the AWS event stream framing) into a :class:`StreamingResponse`: a
status, headers and an async iterator of bytes, one chunk per event.

The seam for the HTTP door: ``wire/server.py`` writes a StreamingResponse over HTTP/1.1 as a
chunked body, one chunk per message, flushed as each arrives; an HTTP/2 door sends the same
status and headers as a HEADERS frame and each chunk as DATA frames, ending the stream after the
last one. Either door calls :meth:`StreamingResponse.aclose` when the client goes away, which
runs the handler's clean-up (the ``finally`` of its iterator).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

__all__ = ["EventStream", "StreamingResponse"]


class EventStream:
    """A handler's answer for an event-stream output: ``initial`` (the output's other members,
    usually empty) and ``events``."""

    __slots__ = ("events", "initial")

    def __init__(self, events: AsyncIterator[tuple[str, Any]], initial: dict[str, Any] | None = None) -> None:
        self.events = events
        self.initial = initial or {}


class StreamingResponse:
    """A response whose body is written as it is produced."""

    __slots__ = ("chunks", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], chunks: AsyncIterator[bytes]) -> None:
        self.status = status
        self.headers = headers
        self.chunks = chunks

    async def aclose(self) -> None:
        close = getattr(self.chunks, "aclose", None)
        if close is not None:
            await close()
