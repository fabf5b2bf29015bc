"""The AWS event stream framing, read back by botocore's own decoder (which checks both CRCs)."""

from __future__ import annotations

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from eventmesh.wire.protocols import eventstream


def _decode(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_events_and_exceptions_decode_with_their_headers_and_payloads():
    data = (eventstream.event("initial-response", b"{}", "application/json")
            + eventstream.event("SubscribeToShardEvent", b'{"Records":[]}', "application/json")
            + eventstream.exception("ResourceInUseException", b'{"message":"taken over"}', "application/json"))
    initial, event, error = _decode(data)
    assert initial.headers == {":event-type": "initial-response", ":content-type": "application/json",
                               ":message-type": "event"}
    assert initial.payload == b"{}"
    assert event.headers[":event-type"] == "SubscribeToShardEvent" and event.payload == b'{"Records":[]}'
    assert error.headers[":message-type"] == "exception"
    assert error.headers[":exception-type"] == "ResourceInUseException"
    assert error.to_response_dict()["status_code"] == 400


def test_a_message_split_across_reads_decodes_once_whole():
    message = eventstream.event("E", b"x" * 1000, "application/json")
    buffer = EventStreamBuffer()
    buffer.add_data(message[:7])
    assert list(buffer) == []
    buffer.add_data(message[7:])
    [whole] = list(buffer)
    assert whole.payload == b"x" * 1000


def test_the_crcs_cover_the_prelude_and_the_message():
    message = bytearray(eventstream.event("E", b"payload", "application/json"))
    message[-6] ^= 0xFF  # a payload byte
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(message))
    assert len(eventstream.encode_message([], b"")) == 16  # prelude, its CRC, the message CRC


@pytest.mark.provokes_internal_error
def test_an_event_stream_answer_ends_with_the_exception_its_events_raise():
    import asyncio

    from eventmesh.errors import ServiceError
    from eventmesh.mesh import Mesh
    from eventmesh.wire.router import Api
    from eventmesh.wire.streaming import EventStream

    class Gone(ServiceError):
        code = "ResourceInUseException"

    async def events(fail: Exception):
        yield "SubscribeToShardEvent", {"Records": []}
        raise fail

    async def frames(fail: Exception) -> list:
        response = Api(Mesh())._event_stream("json", EventStream(events(fail)), "req-1")
        return [chunk async for chunk in response[2]]

    modelled = _decode(b"".join(asyncio.run(frames(Gone("taken over")))))
    assert [m.headers[":message-type"] for m in modelled] == ["event", "event", "exception"]
    assert modelled[2].headers[":exception-type"] == "ResourceInUseException"
    assert modelled[2].payload == b'{"message":"taken over"}'
    broken = _decode(b"".join(asyncio.run(frames(RuntimeError("bug")))))
    assert broken[-1].headers[":message-type"] == "error"
    assert broken[-1].headers[":error-code"] == "InternalFailure"
