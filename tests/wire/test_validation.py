"""Every request meets its model before a handler: the compiled model types, the model walk's
wording, and the typed request Structs of the hot operations held to the model."""

from __future__ import annotations

from typing import Any

import botocore.session
import msgspec
import msgspec.inspect as mi
import pytest

from eventmesh.services import adapters
from eventmesh.wire.shapes import request_type
from eventmesh.wire.validate import check, problem_from

_SESSION = botocore.session.get_session()


def _shape(service: str, operation: str) -> Any:
    return _SESSION.get_service_model(service).operation_model(operation).input_shape


def _fits(service: str, operation: str, params: Any) -> bool:
    try:
        msgspec.convert(params, request_type(_shape(service, operation)))
    except msgspec.ValidationError:
        return False
    return True


@pytest.mark.parametrize(("params", "fits"), [
    ({"QueueUrl": "u", "Entries": [{"Id": "a", "MessageBody": "x"}]}, True),
    ({"QueueUrl": "u", "Entries": [None]}, False),                     # a null list item
    ({"QueueUrl": "u", "Entries": [{"Id": "a"}]}, False),              # a required member missing
    ({"QueueUrl": "u", "Entries": [{"Id": "a", "MessageBody": None}]}, False),
    ({"QueueUrl": "u", "Entries": [{"Id": "a", "MessageBody": "x", "DelaySeconds": 2**31}]}, False),
    ({"QueueUrl": "u", "Entries": [{"Id": "a", "MessageBody": "x", "DelaySeconds": True}]}, False),
    ({"QueueUrl": "u", "Entries": [{"Id": "a", "MessageBody": "x", "MessageAttributes": {"k": None}}]}, False),
    ({"QueueUrl": "u", "Entries": [], "Unknown": 1}, True),           # lengths: SQS words its own
])
def test_the_compiled_type_takes_what_the_model_takes(params: dict[str, Any], fits: bool) -> None:
    assert _fits("sqs", "SendMessageBatch", params) is fits
    assert (not check(_shape("sqs", "SendMessageBatch"), params)) is fits


def test_a_pattern_is_searched_as_smithy_says() -> None:
    base = {"StreamName": "s", "Data": b"x", "PartitionKey": "k"}
    assert _fits("kinesis", "PutRecord", {**base, "SequenceNumberForOrdering": "12"})
    assert not _fits("kinesis", "PutRecord", {**base, "SequenceNumberForOrdering": "a"})
    problems = check(_shape("kinesis", "PutRecord"), {**base, "SequenceNumberForOrdering": "a"})
    assert [(p.kind, p.path) for p in problems] == [("pattern", "sequenceNumberForOrdering")]


def test_timestamps_are_numbers_or_datetimes() -> None:
    base = {"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_TIMESTAMP"}
    assert _fits("kinesis", "GetShardIterator", {**base, "Timestamp": 1.5})
    assert not _fits("kinesis", "GetShardIterator", {**base, "Timestamp": "x"})
    assert check(_shape("kinesis", "GetShardIterator"), {**base, "Timestamp": "x"})[0].kind == "type"


def test_enums_are_checked_only_when_the_service_asks() -> None:
    shape = _shape("lambda", "Invoke")
    params = {"FunctionName": "f", "InvocationType": "Sometimes"}
    msgspec.convert(params, request_type(shape))
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(params, request_type(shape, enums=True))
    assert check(shape, params, enums=True)[0].kind == "enum"


def test_a_msgspec_complaint_becomes_a_problem_with_the_members_path() -> None:
    kind = request_type(_shape("sqs", "SendMessageBatch"))
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert({"QueueUrl": "u", "Entries": [{"Id": 1, "MessageBody": "x"}]}, kind)
    problem = problem_from(caught.value)
    assert problem.path == "entries.1.member.id" and problem.member == "Id"


def _constraints(info: Any, where: str, out: dict[str, tuple[Any, ...]]) -> None:
    """Every constraint a msgspec type carries, by the wire path of the member it is on."""
    if isinstance(info, mi.UnionType):
        for kind in info.types:
            if not isinstance(kind, mi.NoneType):
                _constraints(kind, where, out)
        return
    if isinstance(info, mi.StructType):
        for field in info.fields:
            _constraints(field.type, f"{where}.{field.encode_name}", out)
            out[f"{where}.{field.encode_name}:required"] = (field.required,)
        return
    if isinstance(info, (mi.ListType, mi.DictType)):
        out[where] = (info.min_length, info.max_length)
        _constraints(info.item_type if isinstance(info, mi.ListType) else info.value_type, f"{where}[]", out)
        return
    if isinstance(info, (mi.StrType, mi.BytesType)):
        out[where] = (info.min_length, info.max_length, getattr(info, "pattern", None) is not None)
    elif isinstance(info, mi.IntType):
        out[where] = (info.ge, info.le)


# Constraints a handler checks itself, in AWS's own words, rather than the typed Struct.
HANDLER_CHECKED = {("PutEvents", ".Entries")}


def _typed_operations() -> list[tuple[str, str, type]]:
    return [(svc.model_name, op, kind) for svc in adapters(None) for op, kind in svc.request_types.items()]


@pytest.mark.parametrize(("service", "operation", "kind"), _typed_operations(),
                         ids=[op for _, op, _ in _typed_operations()])
def test_a_typed_request_struct_carries_every_constraint_of_its_model(service: str, operation: str,
                                                                       kind: type) -> None:
    """A typed Struct replaces the model check on its operation's JSON fast path, so it must be at
    least as strict: same lengths, ranges and patterns, required where the model requires."""
    model: dict[str, tuple[Any, ...]] = {}
    struct: dict[str, tuple[Any, ...]] = {}
    _constraints(mi.type_info(request_type(_shape(service, operation))), "", model)
    _constraints(mi.type_info(kind), "", struct)
    loose = []
    for where, wanted in model.items():
        if (operation, where) in HANDLER_CHECKED:
            continue
        have = struct.get(where)
        if where.endswith(":required"):
            if wanted == (True,) and have != (True,):
                loose.append(f"{where}: required by the model")
            continue
        if have is None:
            loose.append(f"{where}: {wanted} not checked")
            continue
        for i, (need, got) in enumerate(zip(wanted, have, strict=True)):
            if need in (None, False):
                continue
            lower_bound = i == 0 and not isinstance(need, bool)
            if got is None or got is False or (lower_bound and got < need) or (not lower_bound and
                                                                                 got is not True and got > need):
                loose.append(f"{where}: model {wanted}, struct {have}")
                break
    assert not loose, loose
