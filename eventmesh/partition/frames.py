"""Frames: batches of plain effects crossing from one partition to another, in msgpack.

A frame is what one partition sends another in one go (a window of a simulation, a batch of a
daemon worker's loop); its items, in the order they were produced:

=================  ==================================================================================
item               what the receiver does
=================  ==================================================================================
``Carry``          a ``Deliver`` for a resource the receiver owns, as the sender emitted it (its
                   ``reply_to`` is the *sender's* token): the receiver's mesh carries it out at
                   ``when`` (0: at once) and sends the answer back
``Bodies``         the same for a ``Deliver`` whose items are bare bodies (no attributes, group,
                   key or trace: an EventBridge event, an SNS envelope), which is most of them:
                   the bodies travel as a list of strings (decoding a ``Delivery`` Struct with its
                   defaults costs ≈4× as much as the string; measured 509 → 166 ns per event)
``Answer``         the ``DeliveryResult`` for the sender's token ``token``: ``mesh.reply(token, result)``
                   at ``when`` (0: at once)
``HandlerAnswer``  the same for a forwarded ``RunInvocation`` (a ``HandlerOutcome``)
``HttpAnswer``     the same for a forwarded ``HttpRequest`` (an ``HttpResponse``)
``Forward``        any other effect (``RunInvocation``, ``Available``, ``HttpRequest``, ``LogEvents``)
                   for the receiver's subscribers; one with a ``reply_to`` is answered back
=================  ==================================================================================

``when`` is virtual time (a simulation with a latency model: when the item takes effect, always
after the window it was sent in); ``order`` its place among items of the same instant, (sender
rank, sender count) as ``Mesh.arrival_seq`` numbers them (``mesh.split_order``), so the receiver
schedules it where one process would have. Outside virtual time: 0 and (0, 0).

Encoding: ``encode_frame`` / ``decode_frame`` (msgspec msgpack, items as tagged arrays; effects
keep their own tags). The bytes are the transport's business: Unix sockets, pipes, shared
memory, Ray's object store; DESIGN.md's cost table measured 4–7.5 M events/s moved in batches
of 100 between processes.
"""

from __future__ import annotations

import msgspec

from eventmesh.effects import (
    Available,
    Deliver,
    Delivery,
    DeliveryResult,
    HandlerOutcome,
    HttpRequest,
    HttpResponse,
    LogEvents,
    RunInvocation,
)

__all__ = ["Answer", "Bodies", "Carry", "Forward", "Frame", "HandlerAnswer", "HttpAnswer", "Item", "carry",
           "decode_frame", "encode_frame"]


class Carry(msgspec.Struct, tag="carry", array_like=True):
    """A delivery for a resource the receiver owns (``deliver.reply_to``: the sender's token)."""

    deliver: Deliver
    when: float = 0.0
    order: tuple[int, int] = (0, 0)


class Bodies(msgspec.Struct, tag="bodies", array_like=True):
    """A ``Deliver(target_arn, [Delivery(body) for body in bodies], source_arn, reply_to)``."""

    target_arn: str
    bodies: list[str]
    source_arn: str = ""
    reply_to: int = 0
    when: float = 0.0
    order: tuple[int, int] = (0, 0)

    def deliver(self) -> Deliver:
        return Deliver(self.target_arn, [Delivery(body) for body in self.bodies], self.source_arn, self.reply_to)


def carry(effect: Deliver, when: float = 0.0, order: tuple[int, int] = (0, 0)) -> Carry | Bodies:
    """The frame item for ``effect``: ``Bodies`` when every item is a bare body, else ``Carry``."""
    for item in effect.items:
        if (item.attributes or item.group_id is not None or item.deduplication_id is not None
                or item.partition_key is not None or item.trace_header is not None):
            return Carry(effect, when, order)
    return Bodies(effect.target_arn, [item.body for item in effect.items], effect.source_arn, effect.reply_to,
                  when, order)


class Answer(msgspec.Struct, tag="answer", array_like=True):
    """The answer to the receiver's token ``token`` (it sent the delivery)."""

    token: int
    result: DeliveryResult
    when: float = 0.0
    order: tuple[int, int] = (0, 0)


class HandlerAnswer(msgspec.Struct, tag="handler", array_like=True):
    """The answer to a forwarded ``RunInvocation``."""

    token: int
    result: HandlerOutcome
    when: float = 0.0
    order: tuple[int, int] = (0, 0)


class HttpAnswer(msgspec.Struct, tag="http", array_like=True):
    """The answer to a forwarded ``HttpRequest``."""

    token: int
    result: HttpResponse
    when: float = 0.0
    order: tuple[int, int] = (0, 0)


class Forward(msgspec.Struct, tag="forward", array_like=True):
    """Any other effect, for the receiver's subscribers (``reply_to``: the sender's token)."""

    effect: Available | HttpRequest | RunInvocation | LogEvents
    when: float = 0.0
    order: tuple[int, int] = (0, 0)


Item = Carry | Bodies | Answer | HandlerAnswer | HttpAnswer | Forward


class Frame(msgspec.Struct, array_like=True):
    """Items from partition ``source``, in the order it produced them."""

    source: int
    items: list[Item]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)


def encode_frame(frame: Frame) -> bytes:
    return _encoder.encode(frame)


def decode_frame(data: bytes) -> Frame:
    return _decoder.decode(data)
