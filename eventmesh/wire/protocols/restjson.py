"""REST-JSON (Lambda): the operation is chosen by method and path template from the model.

Path labels, query-string and header members are placed under their member names; the payload
member (a blob such as Invoke's ``Payload``) takes the raw body, otherwise the JSON body holds the
remaining members. Responses take the status code, headers and payload the same way.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

import msgspec
from botocore.model import OperationModel, ServiceModel, Shape

__all__ = ["RestRoutes", "decode_request", "encode_response"]

_LABEL = re.compile(r"\{([^}]+)\}")
_json = msgspec.json.Decoder()
_encode = msgspec.json.Encoder().encode


class RestRoutes:
    """Method + path → operation, compiled once from the model's ``requestUri`` templates."""

    def __init__(self, model: ServiceModel) -> None:
        routes = []
        for name in model.operation_names:
            op = model.operation_model(name)
            uri, _, fixed = op.http.get("requestUri", "/").partition("?")
            # A literal query in the template (``/layers?find=LayerVersion``) tells apart two
            # operations on one path: the request must carry it, and such a route goes first.
            required = frozenset(parse_qsl(fixed, keep_blank_values=True))
            pattern = "^"
            pos = 0
            literal = 0
            for m in _LABEL.finditer(uri):
                pattern += re.escape(uri[pos:m.start()])
                literal += m.start() - pos
                label = m.group(1)
                if label.endswith("+"):
                    pattern += f"(?P<{_group(label[:-1])}>.+)"
                else:
                    pattern += f"(?P<{_group(label)}>[^/]+)"
                pos = m.end()
            pattern += re.escape(uri[pos:]) + "/?$"
            literal += len(uri) - pos
            routes.append((literal, required, op.http.get("method", "POST"), re.compile(pattern), op))
        # Most specific (longest literal text, then a literal query) first, so /functions/{F}/versions
        # beats /functions/{F}.
        routes.sort(key=lambda r: (-r[0], -len(r[1])))
        self._routes = routes

    def match(self, method: str, path: str, query: str = "") -> tuple[OperationModel, dict[str, str]] | None:
        pairs: set[tuple[str, str]] | None = None
        for _, required, verb, regex, op in self._routes:
            if verb != method:
                continue
            found = regex.match(path)
            if found:
                if required:
                    if pairs is None:
                        pairs = set(parse_qsl(query, keep_blank_values=True))
                    if not required <= pairs:
                        continue
                return op, {_ungroup(k): unquote(v) for k, v in found.groupdict().items()}
        return None


def _group(label: str) -> str:
    return label.replace("-", "_0_")


def _ungroup(group: str) -> str:
    return group.replace("_0_", "-")


def _scalar(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "list":
        return [text]
    return text


def decode_request(op: OperationModel, labels: dict[str, str], query: str,
                   headers: dict[str, str], body: bytes) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    qs = parse_qsl(query, keep_blank_values=True)
    payload = shape.serialization.get("payload")
    body_members = {}
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        where = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        try:
            if where == "uri":
                if wire in labels:
                    params[name] = _scalar(member, labels[wire])
            elif where == "querystring":
                values = [v for k, v in qs if k == wire]
                if values:
                    params[name] = values if member.type_name == "list" else _scalar(member, values[-1])
            elif where == "header":
                value = headers.get(wire.lower())
                if value is not None:
                    params[name] = _scalar(member, value)
            elif name != payload:
                body_members[name] = member
        except ValueError:   # the router answers the service's decode error
            raise ValueError(f"Invalid value for {wire}") from None
    if payload is not None:
        member = shape.members[payload]  # type: ignore[attr-defined]
        if member.type_name in ("blob", "string"):
            # bytes() copies a spooled body (an mmap) for the handler to keep.
            params[payload] = bytes(body) if member.type_name == "blob" else str(body, "utf-8")
        elif body:
            params[payload] = _decode_json(body)
    elif body_members and body:
        document = _decode_json(body)
        if not isinstance(document, dict):
            raise ValueError("the request body must be a JSON object")
        for name, member in body_members.items():
            if name in document:
                params[name] = _blobs(member, document[name])
    return params


def _decode_json(body: bytes) -> Any:
    try:
        return _json.decode(body)
    except msgspec.DecodeError:   # the router answers the service's decode error
        raise ValueError("Could not parse request body into json") from None


def _blobs(shape: Shape, value: Any) -> Any:
    if shape.type_name == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {k: _blobs(members[k], v) if k in members else v for k, v in value.items()}
    return value


def encode_response(op: OperationModel, result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    status = int(op.http.get("responseCode", 200))
    headers: list[tuple[str, str]] = []
    shape = op.output_shape
    if result is None or shape is None:
        return status, headers, b""
    value = result if isinstance(result, dict) else msgspec.to_builtins(result, builtin_types=(bytes,))
    payload = shape.serialization.get("payload")
    document: dict[str, Any] = {}
    body = b""
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        item = value.get(name)
        if item is None:
            continue
        where = member.serialization.get("location")
        if where == "statusCode":
            status = int(item)
        elif where == "header":
            headers.append((member.serialization.get("name", name), str(item)))
        elif name == payload:
            if member.type_name == "blob":
                body = bytes(item) if isinstance(item, (bytes, bytearray)) else str(item).encode()
            elif member.type_name == "string":
                body = item.encode()
            else:
                body = _encode(item)
        else:
            document[name] = item
    if payload is None:
        body = _encode(document)
    if payload is None or shape.members[payload].type_name not in ("blob", "string"):  # type: ignore[attr-defined]
        headers.append(("Content-Type", "application/json"))
    return status, headers, body
