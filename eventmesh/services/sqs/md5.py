"""MD5 digests SQS returns and the SDKs verify.

* body: hex MD5 of the UTF-8 body (``MD5OfMessageBody`` on send, ``MD5OfBody`` on receive);
* message attributes: attributes sorted by name (byte order); for each, the 4-byte big-endian
  length and UTF-8 bytes of the name, then of the ``DataType``, one transport byte (1 for
  String/Number values, 2 for Binary), then the length and bytes of the value. Hex MD5 of it all.
  A message without attributes has **no** attribute digest (``None``), never the MD5 of b"".
* system attributes (``AWSTraceHeader``): the same algorithm.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

__all__ = ["md5_of_attributes", "md5_of_body"]

_STRING_TRANSPORT = b"\x01"  # String and Number (and their custom subtypes)
_BINARY_TRANSPORT = b"\x02"  # Binary and its custom subtypes


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]] | None) -> str | None:
    """Digest of SQS message attributes in the request/response shape
    ``{"Name": {"DataType": "String", "StringValue": "v"}}`` (``BinaryValue`` as bytes or base64 str)."""
    if not attributes:
        return None
    digest = hashlib.md5()
    # Sorted by the UTF-8 bytes of the name, which is what the SDKs do.
    for name in sorted(attributes, key=lambda n: n.encode("utf-8")):
        value = attributes[name]
        data_type: str = value["DataType"]
        digest.update(_field(name.encode("utf-8")))
        digest.update(_field(data_type.encode("utf-8")))
        if data_type.startswith("Binary"):
            raw = value.get("BinaryValue", b"")
            if isinstance(raw, str):
                raw = base64.b64decode(raw)
            digest.update(_BINARY_TRANSPORT)
            digest.update(_field(bytes(raw)))
        else:
            digest.update(_STRING_TRANSPORT)
            digest.update(_field(str(value.get("StringValue", "")).encode("utf-8")))
    return digest.hexdigest()
