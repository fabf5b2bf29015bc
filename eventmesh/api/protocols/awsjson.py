"""AWS JSON 1.0 / 1.1 (SQS, Kinesis, EventBridge): ``X-Amz-Target: Prefix.Operation``, JSON bodies.

Requests decode with msgspec straight into the model's JSON shape; only blob members (base64 on
the wire) need a second look, and only for operations whose input holds a blob.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from botocore.model import Shape

from eventmesh.errors import SerializationException

__all__ = ["decode_blobs", "decode_request", "encode_response", "has_blob"]

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def decode_request(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise SerializationException(f"Start of structure or map found where not expected. ({exc})") from None
    if not isinstance(value, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    return value


def encode_response(result: Any) -> bytes:
    if result is None:
        return b"{}"
    return _encoder.encode(result)


def has_blob(shape: Shape | None, seen: set[str] | None = None) -> bool:
    """Whether a shape holds a blob anywhere (so its requests need base64 decoding)."""
    if shape is None:
        return False
    seen = seen if seen is not None else set()
    if shape.name in seen:
        return False
    seen.add(shape.name)
    kind = shape.type_name
    if kind == "blob":
        return True
    if kind == "structure":
        return any(has_blob(m, seen) for m in shape.members.values())  # type: ignore[attr-defined]
    if kind == "list":
        return has_blob(shape.member, seen)  # type: ignore[attr-defined]
    if kind == "map":
        return has_blob(shape.value, seen)  # type: ignore[attr-defined]
    return False


def decode_blobs(shape: Shape, value: Any) -> Any:
    """Replace base64 text with bytes wherever the shape says blob."""
    kind = shape.type_name
    if value is None:
        return None
    if kind == "blob":
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise SerializationException(f"Invalid base64: {value[:32]!r}") from None
        return value
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        for name, item in value.items():
            sub = members.get(name)
            if sub is not None:
                value[name] = decode_blobs(sub, item)
        return value
    if kind == "list" and isinstance(value, list):
        return [decode_blobs(shape.member, v) for v in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {k: decode_blobs(shape.value, v) for k, v in value.items()}  # type: ignore[attr-defined]
    return value
