"""The AWS event stream binary framing (``application/vnd.amazon.eventstream``), encoder side.

One message is ``total length (4) · headers length (4) · prelude CRC32 (4) · headers · payload ·
message CRC32 (4)``, big-endian; the prelude CRC covers the first 8 bytes, the message CRC
everything before it. A header is ``name length (1) · name · type (1) · value``; the server sends
only string values (type 7, a 2-byte length then UTF-8). Event streams answer SubscribeToShard
(Kinesis) and the other streaming operations; the SDKs check both CRCs.
https://docs.aws.amazon.com/lexv2/latest/dg/event-stream-encoding.html
https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html
"""

from __future__ import annotations

import zlib

__all__ = ["CONTENT_TYPE", "MAX_MESSAGE_BYTES", "encode_message", "event", "exception"]

CONTENT_TYPE = "application/vnd.amazon.eventstream"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the framing's limit on one message (prelude + payload)
_PRELUDE_BYTES = 12
_CRC_BYTES = 4
_STRING = 7  # header value type: a string


def _headers(headers: list[tuple[str, str]]) -> bytes:
    parts = []
    for name, value in headers:
        raw_name, raw_value = name.encode(), value.encode()
        parts.append(len(raw_name).to_bytes(1, "big") + raw_name + bytes((_STRING,))
                     + len(raw_value).to_bytes(2, "big") + raw_value)
    return b"".join(parts)


def encode_message(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """One event stream message, both CRCs included."""
    head = _headers(headers)
    total = _PRELUDE_BYTES + len(head) + len(payload) + _CRC_BYTES
    if total > MAX_MESSAGE_BYTES:
        raise ValueError(f"event stream message of {total} bytes exceeds {MAX_MESSAGE_BYTES}")
    prelude = total.to_bytes(4, "big") + len(head).to_bytes(4, "big")
    message = prelude + zlib.crc32(prelude).to_bytes(4, "big") + head + payload
    return message + zlib.crc32(message).to_bytes(4, "big")


def event(event_type: str, payload: bytes, content_type: str) -> bytes:
    """An ``event`` message (``initial-response`` is the first event of an RPC event stream)."""
    return encode_message([(":event-type", event_type), (":content-type", content_type),
                           (":message-type", "event")], payload)


def exception(code: str, payload: bytes, content_type: str) -> bytes:
    """A modelled ``exception`` message: the SDK raises the exception named by ``code``."""
    return encode_message([(":exception-type", code), (":content-type", content_type),
                           (":message-type", "exception")], payload)
