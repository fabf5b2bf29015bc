"""AWS Query (SNS, legacy SQS): form-encoded ``Action=…&Version=…`` requests, XML responses.

Lists and maps are flattened by the model (``Tags.member.1.Key``, ``Attributes.entry.1.key``, or
SQS's ``MessageAttribute.1.Name``); the wire names the botocore model omits come from a per-service
table (``services/sqs/query_model.py``). Responses are
``<OpResponse xmlns><OpResult>…</OpResult><ResponseMetadata><RequestId/></ResponseMetadata></OpResponse>``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from botocore.model import OperationModel, Shape

from eventmesh.errors import InvalidParameterValue

__all__ = ["QueryNames", "decode_params", "encode_response", "escape", "parse_form"]


class QueryNames:
    """Wire names of members and map entries for one service (model traits plus overrides)."""

    def __init__(self, members: dict[tuple[str, str], str] | None = None,
                 map_entries: dict[str, tuple[str, str]] | None = None) -> None:
        self.members = members or {}
        self.map_entries = map_entries or {}

    def member(self, parent: Shape, name: str, shape: Shape) -> str:
        return self.members.get((parent.name, name)) or shape.serialization.get("name") or name

    def entry(self, shape: Shape) -> tuple[str, str]:
        found = self.map_entries.get(shape.name)
        if found:
            return found
        key = shape.key.serialization.get("name", "key")  # type: ignore[attr-defined]
        value = shape.value.serialization.get("name", "value")  # type: ignore[attr-defined]
        return key, value


def parse_form(body: bytes) -> dict[str, str]:
    """``a=1&b=2`` → ``{"a": "1", "b": "2"}`` (the last repeat wins, as AWS does). ``body`` may be
    any bytes-like object (a large one arrives as an ``mmap``)."""
    return dict(parse_qsl(str(body, "utf-8", "replace"), keep_blank_values=True))


def decode_params(shape: Shape | None, params: dict[str, str], names: QueryNames) -> dict[str, Any]:
    """Rebuild the model's JSON shape from flattened query parameters."""
    if shape is None:
        return {}
    prefixes: set[str] = set()
    for key in params:
        parts = key.split(".")
        for i in range(1, len(parts)):
            prefixes.add(".".join(parts[:i]))
    out = _structure(shape, "", params, prefixes, names)
    return out or {}


def _present(key: str, params: dict[str, str], prefixes: set[str]) -> bool:
    return key in params or key in prefixes


def _value(shape: Shape, key: str, params: dict[str, str], prefixes: set[str], names: QueryNames) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, key + ".", params, prefixes, names)
    if kind == "list":
        return _list(shape, key, params, prefixes, names, flattened=False)
    if kind == "map":
        return _map(shape, key, params, prefixes, names, flattened=False)
    text = params.get(key)
    if text is None:
        return None
    return _scalar(shape, text, key)


def _structure(shape: Shape, prefix: str, params: dict[str, str], prefixes: set[str],
               names: QueryNames) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        key = prefix + names.member(shape, name, member)
        if not _present(key, params, prefixes):
            continue
        flattened = bool(member.serialization.get("flattened"))
        if member.type_name == "list":
            value: Any = _list(member, key, params, prefixes, names, flattened)
        elif member.type_name == "map":
            value = _map(member, key, params, prefixes, names, flattened)
        else:
            value = _value(member, key, params, prefixes, names)
        if value is not None:
            out[name] = value
    return out


def _list(shape: Shape, key: str, params: dict[str, str], prefixes: set[str], names: QueryNames,
          flattened: bool) -> list[Any]:
    item_shape = shape.member  # type: ignore[attr-defined]
    if flattened or shape.serialization.get("flattened"):
        base = key
    else:
        base = f"{key}.{item_shape.serialization.get('name', 'member')}"
    items = []
    i = 1
    while _present(f"{base}.{i}", params, prefixes):
        items.append(_value(item_shape, f"{base}.{i}", params, prefixes, names))
        i += 1
    return items


def _map(shape: Shape, key: str, params: dict[str, str], prefixes: set[str], names: QueryNames,
         flattened: bool) -> dict[str, Any]:
    key_name, value_name = names.entry(shape)
    base = key if flattened or shape.serialization.get("flattened") else f"{key}.entry"
    out: dict[str, Any] = {}
    i = 1
    while _present(f"{base}.{i}", params, prefixes):
        k = params.get(f"{base}.{i}.{key_name}")
        if k is not None:
            out[k] = _value(shape.value, f"{base}.{i}.{value_name}", params, prefixes, names)  # type: ignore[attr-defined]
        i += 1
    return out


def _scalar(shape: Shape, text: str, key: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind == "blob":
            return base64.b64decode(text, validate=True)
        if kind == "timestamp":
            return _parse_time(text)
    except (ValueError, binascii.Error):
        raise InvalidParameterValue(f"Value ({text}) for parameter {key} is invalid.") from None
    return text


def _parse_time(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# -- responses -------------------------------------------------------------------------------

def escape(text: str) -> str:
    """XML-escape text as SQS does (``"`` → ``&quot;``, ``\\r`` → ``&#xD;``)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\r", "&#xD;"))


def encode_response(op: OperationModel, result: Any, namespace: str, request_id: str,
                    names: QueryNames) -> bytes:
    name = op.name
    parts = [f'<?xml version="1.0"?><{name}Response xmlns="{namespace}">']
    shape = op.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper") or f"{name}Result"
        start = len(parts)
        if result is not None:
            value = result if isinstance(result, dict) else msgspec.to_builtins(result, builtin_types=(bytes,))
            _xml_structure(shape, value, parts, names)
        # An empty result is one empty element, as AWS writes it (<ReceiveMessageResult/>).
        if len(parts) == start:
            parts.append(f"<{wrapper}/>")
        else:
            parts.insert(start, f"<{wrapper}>")
            parts.append(f"</{wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{name}Response>")
    return "".join(parts).encode()


def _xml_structure(shape: Shape, value: dict[str, Any], parts: list[str], names: QueryNames) -> None:
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        item = value.get(name)
        if item is None:
            continue
        tag = names.member(shape, name, member)
        kind = member.type_name
        flattened = bool(member.serialization.get("flattened"))
        if kind == "list":
            _xml_list(member, tag, item, parts, names, flattened)
        elif kind == "map":
            _xml_map(member, tag, item, parts, names, flattened)
        else:
            parts.append(f"<{tag}>")
            _xml_value(member, item, parts, names)
            parts.append(f"</{tag}>")


def _xml_list(shape: Shape, tag: str, items: list[Any], parts: list[str], names: QueryNames,
              flattened: bool) -> None:
    item_shape = shape.member  # type: ignore[attr-defined]
    if flattened:
        for item in items:
            parts.append(f"<{tag}>")
            _xml_value(item_shape, item, parts, names)
            parts.append(f"</{tag}>")
        return
    inner = item_shape.serialization.get("name", "member")
    parts.append(f"<{tag}>")
    for item in items:
        parts.append(f"<{inner}>")
        _xml_value(item_shape, item, parts, names)
        parts.append(f"</{inner}>")
    parts.append(f"</{tag}>")


def _xml_map(shape: Shape, tag: str, items: dict[str, Any], parts: list[str], names: QueryNames,
             flattened: bool) -> None:
    key_name, value_name = names.entry(shape)
    value_shape = shape.value  # type: ignore[attr-defined]
    if not flattened:
        parts.append(f"<{tag}>")
    for key, item in items.items():
        parts.append(f"<{tag}>" if flattened else "<entry>")
        parts.append(f"<{key_name}>{escape(str(key))}</{key_name}><{value_name}>")
        _xml_value(value_shape, item, parts, names)
        parts.append(f"</{value_name}>")
        parts.append(f"</{tag}>" if flattened else "</entry>")
    if not flattened:
        parts.append(f"</{tag}>")


def _xml_value(shape: Shape, value: Any, parts: list[str], names: QueryNames) -> None:
    kind = shape.type_name
    if kind == "structure":
        _xml_structure(shape, value, parts, names)
    elif kind == "list":
        _xml_list(shape, "member", value, parts, names, False)
    elif kind == "map":
        _xml_map(shape, "entry", value, parts, names, False)
    elif kind == "boolean":
        parts.append("true" if value else "false")
    elif kind == "blob":
        raw = value if isinstance(value, (bytes, bytearray)) else str(value).encode()
        parts.append(base64.b64encode(raw).decode())
    elif kind == "timestamp":
        if isinstance(value, (int, float)):
            value = dt.datetime.fromtimestamp(value, dt.UTC).isoformat().replace("+00:00", "Z")
        parts.append(escape(str(value)))
    else:
        parts.append(escape(str(value)))
