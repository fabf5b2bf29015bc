"""Malformed and mistyped requests for every operation of every served service, generated from
the botocore models, and the judge of what the daemon answered.

Each request is built from a plausible base (every member of its input shape filled with a value
of its type, a few levels deep) with one part broken: a member given a value of another type,
a required member dropped, the whole body replaced by something that is not the protocol's
document (truncated, nested 10,000 deep, garbage bytes), or, for Query and REST, junk in a form
field, a path label, a query parameter or a header. Requests whose break is a type error in a
JSON or CBOR body must be refused with a 4xx; every request must get an answer that is not a
5xx, and every error must be in its protocol's shape.

Used by ``tests/wire/test_fuzz.py`` (a bounded run) and ``benchmarks/daemon/fuzz_daemon.py``.
"""

from __future__ import annotations

import base64
import json
import random
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import botocore.session
from botocore.model import OperationModel, Shape

from eventmesh.wire.protocols import cbor

__all__ = ["Canary", "Case", "Fuzzer", "Wire", "judge"]

SERVICES = ("sqs", "sns", "kinesis", "events", "lambda")
QUERY_VERSIONS = {"sqs": "2012-11-05", "sns": "2010-03-31", "sts": "2011-06-15", "iam": "2010-05-08"}
_LABEL = re.compile(r"\{([^}]+)\}")
DEEP = 10_000
# Values no valid base contains: never a URL (no delivery leaves the machine), never a handler.
_BASE_TEXT = "fuzz"


@dataclass
class Case:
    """One request and what it must get: ``must_refuse`` — a 4xx (else: anything but a 5xx)."""

    service: str
    operation: str
    protocol: str          # json | cbor | query | rest-json
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    must_refuse: bool
    what: str


class _Unset:
    pass


class Fuzzer:
    """Cases from a seeded generator (the same seed, the same cases)."""

    def __init__(self, seed: int = 0, served: dict[str, list[str]] | None = None) -> None:
        """``served``: the operations a daemon serves, by service (``Api.services``); they get
        nearly every case, the model's others (refused as unknown) the rest."""
        self.random = random.Random(seed)
        session = botocore.session.get_session()
        names = tuple(served) if served else SERVICES
        self.models = {name: session.get_service_model(name) for name in names}
        every = [(name, op) for name, model in self.models.items() for op in model.operation_names]
        self.served = [(name, op) for name, op in every if served is None or op in served[name]]
        self.unserved = [item for item in every if item not in self.served] or self.served

    # -- plausible values ------------------------------------------------------------------

    def base(self, shape: Shape, depth: int = 0) -> Any:
        kind = shape.type_name
        meta = shape.metadata
        if kind == "structure":
            out: dict[str, Any] = {}
            for name, member in shape.members.items():  # type: ignore[attr-defined]
                if depth < 3 and (name in shape.required_members or self.random.random() < 0.5):  # type: ignore[attr-defined]
                    out[name] = self.base(member, depth + 1)
            return out
        if kind == "list":
            return [self.base(shape.member, depth + 1)] if depth < 4 else []  # type: ignore[attr-defined]
        if kind == "map":
            return {"k": self.base(shape.value, depth + 1)} if depth < 4 else {}  # type: ignore[attr-defined]
        if kind == "string":
            if shape.enum:  # type: ignore[attr-defined]
                return shape.enum[0]  # type: ignore[attr-defined]
            low, high = meta.get("min", 1), meta.get("max", 64)
            return (_BASE_TEXT * 20)[:max(low, min(high, 8))]
        if kind in ("integer", "long"):
            return max(meta.get("min", 1), 1) if meta.get("max", 1) >= 1 else meta.get("min", 0)
        if kind in ("float", "double"):
            return 1.0
        if kind == "boolean":
            return True
        if kind == "timestamp":
            return 1_700_000_000
        if kind == "blob":
            return b"fuzz"
        return None

    # -- broken values ---------------------------------------------------------------------

    def wrong(self, shape: Shape) -> Any:
        """A value of another JSON type than ``shape`` takes (or out of its range)."""
        kind = shape.type_name
        r = self.random
        by_kind: dict[str, list[Any]] = {
            "string": [1, -1, 2**70, 1.5, True, [], {}, ["x"], [None], {"a": 1}],
            "integer": ["1", "x", 1.5, True, [], {}, 2**31, -(2**31) - 1, 2**70, [1]],
            "long": ["1", "x", 1.5, False, [], {}, 2**63, -(2**70), {"a": 1}],
            "float": ["1.0", True, [], {}, "NaN"],
            "double": ["1.0", False, [], {}, "x"],
            "boolean": ["true", 1, 0, [], {}, "x"],
            "timestamp": ["x", True, [], {}, "2020-13-45"],
            "blob": [1, True, [], {}, "not base64!!", "abcde"],
            "list": ["x", 1, {}, True, [None], [None, None]],
            "map": ["x", 1, [], True, {"k": None}],
            "structure": ["x", 1, [], True, [None], 2.5],
        }
        choices = list(by_kind.get(kind, ["x", 1]))
        if kind == "list":
            choices.append([self.wrong(shape.member)])  # type: ignore[attr-defined]
        if kind == "map":
            choices.append({"k": self.wrong(shape.value)})  # type: ignore[attr-defined]
        return r.choice(choices)

    def odd(self, shape: Shape) -> Any:
        """A value of the right type that a handler may not expect (empty, huge, edge of range,
        names and ARNs of things that do not exist, odd characters)."""
        kind = shape.type_name
        r = self.random
        if kind == "string":
            return r.choice(["", " ", "\u0000", "\ud7ff\ue000", "a" * 10_000, "-1", "0", "null", "*", "..",
                             "arn:aws:sqs:us-east-1:000000000000:nope", "arn:aws:lambda:us-east-1:1:function:x:$LATEST",
                             "arn:", "{", '{"source": ["a"]}', "rate(0 minutes)", "cron(", "$.x", "<xml>", "\u202e"])
        if kind in ("integer", "long"):
            return r.choice([0, -1, 2**31 - 1, -(2**31), 10**9] + ([2**63 - 1, -(2**63)] if kind == "long" else []))
        if kind in ("float", "double"):
            return r.choice([0.0, -1.0, 1e308, -1e308, 1e-308])
        if kind == "timestamp":
            return r.choice([0, -1, 253402300800, 1e12, 1.5])
        if kind == "blob":
            return r.choice([b"", b"\x00" * 1000, bytes(range(256))])
        if kind == "list":
            return r.choice([[], [self.base(shape.member, 3)] * 100])  # type: ignore[attr-defined]
        if kind == "map":
            return r.choice([{}, {f"k{i}": self.base(shape.value, 3) for i in range(60)}])  # type: ignore[attr-defined]
        if kind == "structure":
            return {}
        return True

    def _paths(self, shape: Shape, value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Shape]]:
        """Every (path, shape) in ``value`` a mutation may target."""
        out = [(path, shape)] if path else []
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict):
            for name, item in value.items():
                out += self._paths(shape.members[name], item, path + (name,))  # type: ignore[attr-defined]
        elif kind == "list" and isinstance(value, list):
            for i, item in enumerate(value):
                out += self._paths(shape.member, item, path + (i,))  # type: ignore[attr-defined]
        elif kind == "map" and isinstance(value, dict):
            for key, item in value.items():
                out += self._paths(shape.value, item, path + (key,))  # type: ignore[attr-defined]
        return out

    @staticmethod
    def _set(value: Any, path: tuple[Any, ...], new: Any) -> None:
        for step in path[:-1]:
            value = value[step]
        if new is _Unset:
            del value[path[-1]]
        else:
            value[path[-1]] = new

    def mutated(self, op: OperationModel, body_members: set[str] | None = None) -> tuple[Any, str, bool]:
        """(params, what was broken, whether the break must be refused)."""
        shape = op.input_shape
        params = self.base(shape) if shape is not None else {}
        if body_members is not None:
            params = {k: v for k, v in params.items() if k in body_members}
        targets = self._paths(shape, params) if shape is not None else []
        if not targets or self.random.random() < 0.1:
            return self.random.choice([[], 1, "x", None, [None], True]), "body not an object", True
        path, target = self.random.choice(targets)
        if self.random.random() < 0.35:
            for path, target in self.random.sample(targets, min(3, len(targets))):
                try:
                    self._set(params, path, self.odd(target))
                except (KeyError, IndexError, TypeError):
                    pass   # inside a value an earlier change replaced
            return params, "odd but well-typed values", False
        if self.random.random() < 0.15 and path and len(path) == 1 and path[0] in getattr(
                shape, "required_members", ()):
            self._set(params, path, _Unset)
            return params, f"required {path[0]} dropped", True
        self._set(params, path, self.wrong(target))
        return params, f"{'.'.join(map(str, path))} mistyped", True

    # -- requests --------------------------------------------------------------------------

    def case(self) -> Case:
        service, name = self.random.choice(self.served if self.random.random() < 0.95 else self.unserved)
        model = self.models[service]
        op = model.operation_model(name)
        if model.protocol == "rest-json":
            return self._rest(service, op)
        kinds = ["json", "json", "json", "raw-json", "cbor", "raw-cbor"] if model.protocol != "query" else []
        if service in QUERY_VERSIONS:
            kinds += ["query", "query"]
        kind = self.random.choice(kinds)
        if kind == "query":
            return self._query(service, op)
        target = f"{model.metadata['targetPrefix']}.{name}"
        if kind in ("raw-json", "raw-cbor"):
            body, what = self._garbage(kind == "raw-cbor")
            content_type = "application/x-amz-cbor-1.1" if kind == "raw-cbor" else self._json_type(model)
            return Case(service, name, "cbor" if kind == "raw-cbor" else "json", "POST", "/",
                        {"X-Amz-Target": target, "Content-Type": content_type}, body, True, what)
        params, what, refuse = self.mutated(op)
        if kind == "cbor":
            return Case(service, name, "cbor", "POST", "/",
                        {"X-Amz-Target": target, "Content-Type": "application/x-amz-cbor-1.1"},
                        cbor.encode(params), refuse, what)
        headers = {"X-Amz-Target": target, "Content-Type": self._json_type(model)}
        return Case(service, name, "json", "POST", "/", headers, json.dumps(_jsonable(params)).encode(), refuse, what)

    @staticmethod
    def _json_type(model: Any) -> str:
        return f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"

    def _garbage(self, is_cbor: bool) -> tuple[bytes, str]:
        r = self.random
        choices = [
            (b"[" * DEEP + b"]" * DEEP, "JSON nested 10,000 deep"),
            (b'{"a":' * 5000 + b"1" + b"}" * 5000, "objects nested 5,000 deep"),
            (b'{"QueueUrl": "x", ', "truncated JSON"),
            (bytes(r.getrandbits(8) for _ in range(r.randint(1, 64))), "random bytes"),
            (b"\xbf", "an unfinished CBOR map"),
            (b"\x9f" * 2000, "CBOR arrays nested 2,000 deep"),
            (cbor.encode([1, 2, 3]), "CBOR that is not a map"),
            (cbor.encode({"Records": [{"Data": b"x"}]})[:-2], "truncated CBOR"),
            (b"\xff\xfe{}", "not UTF-8"),
            (b"{}" * 10, "two documents"),
        ]
        body, what = r.choice(choices)
        return body, what

    def _query(self, service: str, op: OperationModel) -> Case:
        r = self.random
        form: dict[str, str] = {"Action": op.name, "Version": QUERY_VERSIONS[service]}
        shape = op.input_shape
        members = list(shape.members.items()) if shape is not None else []  # type: ignore[attr-defined]
        junk = ["abc", "-99999999999999999999999", "1e400", "", "\x00", "%", "true", "1.5",
                "x" * 5000, "NaN", "[]"]
        for name, member in members:
            if r.random() < 0.6:
                key = member.serialization.get("name", name)
                if member.type_name == "list":
                    key += r.choice([".member.1", ".member.0", ".1", ".member.999999", ".member.1.Id", ""])
                elif member.type_name == "map":
                    key += r.choice([".entry.1.key", ".entry.1.value", ".1.Name", ".entry.0"])
                elif member.type_name == "structure":
                    key += r.choice([".x", "", ".DataType"])
                form[key] = r.choice(junk)
        if r.random() < 0.1:
            form[".".join(["a"] * 500)] = "deep"
        path = "/000000000000/fuzz" if service == "sqs" and r.random() < 0.5 else "/"
        return Case(service, op.name, "query", "POST", path, {"Content-Type": "application/x-www-form-urlencoded"},
                    urlencode(form).encode(), False, "junk form fields")

    def _rest(self, service: str, op: OperationModel) -> Case:
        r = self.random
        shape = op.input_shape
        members = shape.members if shape is not None else {}  # type: ignore[attr-defined]
        uri = op.http.get("requestUri", "/")
        path_template, _, fixed_query = uri.partition("?")
        labels = ["fuzz", "..", "%00", "a" * 300, "arn:aws:lambda:us-east-1:000000000000:function:fuzz", "-1", "%2F"]

        def label(m: re.Match[str]) -> str:
            value = r.choice(labels)
            return value if value.startswith("%") else quote(value, safe=":")

        path = _LABEL.sub(label, path_template)
        query: list[tuple[str, str]] = [tuple(p.split("=", 1)) if "=" in p else (p, "")  # type: ignore[misc]
                                        for p in fixed_query.split("&") if p]
        headers: dict[str, str] = {"Content-Type": "application/json"}
        junk = ["-2147483649", "x", "", "99999999999999999999", "true", "1.5", "\u00ff" * 3]
        body_members: set[str] = set()
        for name, member in members.items():
            where = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if where == "querystring" and r.random() < 0.7:
                query.append((wire, r.choice(junk)))
            elif where == "header" and r.random() < 0.7:
                headers[wire] = r.choice(junk).encode("latin-1", "replace").decode("latin-1")
            elif where is None:
                body_members.add(name)
        payload = shape.serialization.get("payload") if shape is not None else None
        if payload is not None and members[payload].type_name in ("blob", "string"):
            body, what, refuse = r.choice([b"{}", b"\x00\xff", b"[" * DEEP]), "raw payload", False
        elif r.random() < 0.2:
            body, what = self._garbage(False)
            refuse = bool(body_members)
        else:
            params, what, refuse = self.mutated(op, body_members)
            body = json.dumps(_jsonable(params)).encode()
            refuse = refuse and bool(body_members)   # a body the operation reads, broken
        target = path + ("?" + urlencode(query) if query else "")
        return Case(service, op.name, "rest-json", op.http.get("method", "POST"), target, headers, body,
                    refuse, what)


def _jsonable(value: Any) -> Any:
    """JSON's view of a value: blobs as base64 text."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def judge(case: Case, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """What is wrong with the answer, or None."""
    if status >= 500:
        return f"{status} for {case.what}"
    if case.must_refuse and not 400 <= status < 500:
        return f"{status} (not a 4xx) for {case.what}"
    if status < 400:
        return None
    try:
        if case.protocol == "json":
            document = json.loads(body)
            ok = isinstance(document.get("__type"), str) and isinstance(document.get("message"), str)
        elif case.protocol == "cbor":
            document = cbor.decode(body)
            ok = isinstance(document, dict) and isinstance(document.get("__type"), str)
        elif case.protocol == "query":
            ok = b"<ErrorResponse" in body and b"<Code>" in body
        else:
            ok = "x-amzn-errortype" in headers and isinstance(json.loads(body), dict)
    except (ValueError, cbor.CBORDecodeError):
        ok = False
    return None if ok else f"{status} not in the {case.protocol} error shape: {body[:120]!r}"


class Wire:
    """One keep-alive HTTP/1.1 connection to a daemon; ``send`` returns (status, headers, body),
    or raises ``TimeoutError`` when no answer comes within ``timeout_s`` (a hang)."""

    def __init__(self, port: int, timeout_s: float = 10.0) -> None:
        import http.client

        self._new = lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        self.host = f"127.0.0.1:{port}"
        self.conn = self._new()

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            self.conn.request(method, path, body, {"Host": self.host, **headers})
            reply = self.conn.getresponse()
            data = reply.read()
        except TimeoutError:
            self.conn.close()
            self.conn = self._new()
            raise TimeoutError(f"{method} {path}") from None
        except (ConnectionError, OSError):
            self.conn.close()
            self.conn = self._new()
            raise
        if reply.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = self._new()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, data

    def close(self) -> None:
        self.conn.close()


class Canary:
    """Valid traffic interleaved with the fuzz: a message sent, received and deleted on a queue
    the fuzzer never names, and a record put and read back on a stream of its own."""

    QUEUE = "canary-q-0"
    STREAM = "canary-s-0"

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.sent = 0
        self.url = self._sqs("CreateQueue", {"QueueName": self.QUEUE})["QueueUrl"]
        self._kinesis("CreateStream", {"StreamName": self.STREAM, "ShardCount": 1})

    def _call(self, target: str, version: str, body: dict[str, Any]) -> Any:
        status, _, data = self.wire.send("POST", "/", {"X-Amz-Target": target,
                                                       "Content-Type": f"application/x-amz-json-{version}"},
                                         json.dumps(body).encode())
        if status != 200:
            raise AssertionError(f"canary {target}: {status} {data[:200]!r}")
        return json.loads(data)

    def _sqs(self, op: str, body: dict[str, Any]) -> Any:
        return self._call(f"AmazonSQS.{op}", "1.0", body)

    def _kinesis(self, op: str, body: dict[str, Any]) -> Any:
        return self._call(f"Kinesis_20131202.{op}", "1.1", body)

    def check(self, stream: bool = True) -> None:
        """One round (with ``stream``, the Kinesis part too: it has a per-second quota of five
        reads per shard); AssertionError if the daemon got any of it wrong."""
        self.sent += 1
        text = f"canary {self.sent}"
        self._sqs("SendMessage", {"QueueUrl": self.url, "MessageBody": text})
        got = self._sqs("ReceiveMessage", {"QueueUrl": self.url, "MaxNumberOfMessages": 10})
        bodies = [m["Body"] for m in got.get("Messages", [])]
        if bodies != [text]:
            raise AssertionError(f"canary queue: sent {text!r}, received {bodies}")
        self._sqs("DeleteMessage", {"QueueUrl": self.url, "ReceiptHandle": got["Messages"][0]["ReceiptHandle"]})
        if not stream:
            return
        try:
            data = base64.b64encode(text.encode()).decode()
            put = self._kinesis("PutRecord", {"StreamName": self.STREAM, "Data": data, "PartitionKey": "k"})
        except AssertionError as exc:
            if "ResourceInUseException" in str(exc):
                return   # the stream is still CREATING (virtual time has not moved)
            raise
        iterator = self._kinesis("GetShardIterator", {
            "StreamName": self.STREAM, "ShardId": put["ShardId"], "ShardIteratorType": "AT_SEQUENCE_NUMBER",
            "StartingSequenceNumber": put["SequenceNumber"]})["ShardIterator"]
        records = self._kinesis("GetRecords", {"ShardIterator": iterator, "Limit": 1})["Records"]
        if [base64.b64decode(r["Data"]).decode() for r in records] != [text]:
            raise AssertionError(f"canary stream: put {text!r}, read {records}")
