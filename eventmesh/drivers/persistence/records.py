"""What the journal holds: one record per input the engine took, in the order it took them.

Every record carries ``at``, the instant the engine processed it (the clock is held there while
it is processed, live and on replay). Records are tagged msgpack arrays: small, and decoded into
the right type without a lookup table.
"""

from __future__ import annotations

import msgspec

from eventmesh.effects import HandlerOutcome, HttpResponse

__all__ = ["Answer", "Drain", "Record", "RequestRecord", "Tick", "decode_record", "encode_record"]


class RequestRecord(msgspec.Struct, tag="request", array_like=True):
    """An HTTP request the router took (the fields it reads, header names lower-case)."""

    at: float
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class Tick(msgspec.Struct, tag="tick", array_like=True):
    """A run of every timer due at ``at`` (the real-time driver's wake-up, or a virtual clock's
    run of work due now)."""

    at: float


class Drain(msgspec.Struct, tag="drain", array_like=True):
    """The daemon began a graceful shutdown at ``at``: waiting long polls answered, later ones
    do not wait (until the engine is served again by a new daemon)."""

    at: float


class Answer(msgspec.Struct, tag="answer", array_like=True):
    """An answer a driver brought back from outside the engine for the effect with ``token``."""

    at: float
    token: int
    http: HttpResponse | None = None
    outcome: HandlerOutcome | None = None

    @property
    def value(self) -> HttpResponse | HandlerOutcome | None:
        return self.http if self.http is not None else self.outcome


Record = RequestRecord | Tick | Drain | Answer

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Record)


def encode_record(record: Record) -> bytes:
    return _encoder.encode(record)


def decode_record(data: bytes) -> Record:
    return _decoder.decode(data)
