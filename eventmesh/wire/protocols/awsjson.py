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

__all__ = ["BlobPlan", "blob_plan", "decode_blobs", "decode_request", "encode_response"]

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


# A blob plan names only the parts of a shape that can hold a blob: "blob", a dict of member
# name -> plan for a structure, ("list", plan) or ("map", plan). Built once per operation, so a
# request walks just those members (SendMessageBatch: each entry's MessageAttributes), not all.
BlobPlan = Any


def blob_plan(shape: Shape | None, seen: frozenset[str] = frozenset()) -> BlobPlan | None:
    """The blob plan of a shape, or None when it holds no blob anywhere."""
    if shape is None or shape.name in seen:
        return None
    seen = seen | {shape.name}
    kind = shape.type_name
    if kind == "blob":
        return "blob"
    if kind == "structure":
        members = {name: plan for name, member in shape.members.items()  # type: ignore[attr-defined]
                   if (plan := blob_plan(member, seen)) is not None}
        return members or None
    if kind in ("list", "map"):
        inner = blob_plan(shape.member if kind == "list" else shape.value, seen)  # type: ignore[attr-defined]
        return (kind, inner) if inner is not None else None
    return None


def decode_blobs(plan: BlobPlan, value: Any) -> Any:
    """Replace base64 text with bytes wherever the plan says blob."""
    if value is None:
        return None
    if plan == "blob":
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise SerializationException(f"Invalid base64: {value[:32]!r}") from None
        return value
    if isinstance(plan, dict):
        if isinstance(value, dict):
            for name, sub in plan.items():
                item = value.get(name)
                if item is not None:
                    value[name] = decode_blobs(sub, item)
        return value
    kind, inner = plan
    if kind == "list" and isinstance(value, list):
        return [decode_blobs(inner, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: decode_blobs(inner, v) for k, v in value.items()}
    return value
