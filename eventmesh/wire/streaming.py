"""Streaming responses: what a handler answers when its output is an event stream, and what the
router hands the HTTP door for it.

A handler of an operation whose output is an event stream (Kinesis SubscribeToShard) returns an
:class:`EventStream`: the operation's initial response and an async iterator of ``(event type,
payload in the model's shape)``; a :class:`~eventmesh.errors.ServiceError` raised by the iterator
ends the stream with that modelled exception. The router frames it for the request's protocol
(JSON or CBOR payloads in the AWS event stream framing) into a response whose body is an async
iterator of bytes, one chunk per event.

The door writes such a body as it is produced: over HTTP/1.1 as a chunked body, one chunk per
message; over HTTP/2 as DATA frames within the flow-control windows, ending the stream after the
last one. Either closes the iterator when the client goes away, which runs the handler's clean-up
(the ``finally`` of its iterator).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

__all__ = ["EventStream"]


class EventStream:
    """A handler's answer for an event-stream output: ``initial`` (the output's other members,
    usually empty) and ``events``."""

    __slots__ = ("events", "initial")

    def __init__(self, events: AsyncIterator[tuple[str, Any]], initial: dict[str, Any] | None = None) -> None:
        self.events = events
        self.initial = initial or {}
