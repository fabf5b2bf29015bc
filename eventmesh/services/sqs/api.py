"""Amazon SQS over AWS JSON 1.0 (``X-Amz-Target: AmazonSQS.<Operation>``) and the legacy Query
protocol (``Action=<Operation>``, same handlers): adapters only.

Each handler turns the request (the botocore ``sqs`` model's JSON shape; ``BinaryValue`` as bytes)
into calls on ``queue.py`` / ``service.py`` / ``move_tasks.py`` and the
results into the model's output shape. Receipt handles and MD5 digests are made here, from the
cores' receipt numbers and bodies (digests once per message, cached on it). Every request has met
the model before a handler runs (the router's check); handlers add SQS's own rules. SQS is
query-compatible: JSON errors carry ``x-amzn-query-error``.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

from eventmesh.errors import InvalidAction, ServiceError
from eventmesh.services.sqs import move_tasks, query_model
from eventmesh.services.sqs import service as sqs_service
from eventmesh.services.sqs.attributes import MAX_VISIBILITY_TIMEOUT_S, MAX_WAIT_TIME_S
from eventmesh.services.sqs.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidAttributeName,
    InvalidBatchEntryId,
    InvalidParameterValueException,
    MissingRequiredParameterException,
    QueueDoesNotExist,
    ReceiptHandleIsInvalid,
    SqsError,
    TooManyEntriesInBatchRequest,
)
from eventmesh.services.sqs.fifo import check_batch as check_fifo_batch
from eventmesh.services.sqs.md5 import md5_of_attributes
from eventmesh.services.sqs.message import Message, SendEntry
from eventmesh.services.sqs.queue import Queue
from eventmesh.services.sqs.service import DRAINING
from eventmesh.wire.limits import FORM_EXPANSION, request_bytes
from eventmesh.wire.protocols.query import QueryNames
from eventmesh.wire.service import Deferred, RequestContext, Service
from eventmesh.wire.validate import Problem

__all__ = ["service"]

BATCH_MAX_ENTRIES = 10  # entries per batch request
SEND_BATCH_MAX_BYTES = 1_048_576  # all bodies + attributes of a batch
MAX_RECEIVE_MESSAGES = 10  # MaxNumberOfMessages 1..10
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# A message attribute name: letters, digits, "_-.", no leading, trailing or doubled period, and
# not the reserved prefixes AWS. / Amazon. (quotas-messages.html).
_ATTRIBUTE_NAME = re.compile(r"(?!(?i:aws|amazon)\.)(?!\.)(?!.*\.\.)[\w.\-]{1,256}(?<!\.)")
# System attributes a receive can ask for; "All" asks for every one.
_SYSTEM_ATTRIBUTES = frozenset({
    "All", "SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
    "SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
})
_BATCH_ENTRY_NAMES = {
    "SendMessageBatch": "SendMessageBatchRequestEntry",
    "DeleteMessageBatch": "DeleteMessageBatchRequestEntry",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchRequestEntry",
}


def _validation_error(problems: list[Problem]) -> ServiceError:
    """SQS answers model violations in its own words: a missing member is ``MissingParameter``."""
    first = problems[0]
    if first.kind == "missing":
        if first.member == "Entries":
            return EmptyBatchRequest("There should be at least one BatchRequestEntry in the request.")
        return MissingRequiredParameterException(f"The request must contain the parameter {first.member}.")
    return InvalidParameterValueException(f"Value {first.value} for parameter {first.member} is invalid. "
                                          f"Reason: {first.constraint}.")


service = Service("sqs", validation_error=_validation_error, query_compatible=True,
                  json_error_prefix="com.amazonaws.sqs#",
                  query_names=QueryNames(query_model.MEMBER_NAMES, query_model.MAP_ENTRY_NAMES),
                  xml_namespace=query_model.XML_NAMESPACE,
                  # A batch of 1 MiB, form-encoded (Query) at worst.
                  max_request_bytes=request_bytes(SEND_BATCH_MAX_BYTES, FORM_EXPANSION))


def _queue(ctx: RequestContext, params: dict[str, Any]) -> Queue:
    url = params.get("QueueUrl")
    if not isinstance(url, str):
        raise MissingRequiredParameterException("The request must contain the parameter QueueUrl.")
    return sqs_service.queue_from_url(ctx.mesh, url)


def _url(ctx: RequestContext, queue: Queue) -> str:
    return sqs_service.queue_url(ctx.host, queue, ctx.settings.get("queue_urls", "path"))


def _int(params: dict[str, Any], name: str, low: int, high: int, reason: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidParameterValueException(
            f"Value {value} for parameter {name} is invalid. Reason: {reason}")
    return value


# -- queues -----------------------------------------------------------------------------------


def _account_level(ctx: RequestContext, params: dict[str, Any]) -> None:
    """CreateQueue and ListQueues act on the account: over the Query protocol AWS refuses them
    at a queue URL (the router passes the queue URL of the path as ``QueueUrl``)."""
    if ctx.protocol == "query" and "QueueUrl" in params:
        raise InvalidAction(f"The action {ctx.operation} is not valid for this endpoint.")


@service.operation("CreateQueue")
def create_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _account_level(ctx, params)
    queue = sqs_service.create_queue(ctx.mesh, params["QueueName"], params.get("Attributes"),
                                     params.get("tags"))
    return {"QueueUrl": _url(ctx, queue)}


@service.operation("GetQueueUrl")
def get_queue_url(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    queue = sqs_service.queue_by_name(ctx.mesh, params["QueueName"], params.get("QueueOwnerAWSAccountId"))
    return {"QueueUrl": _url(ctx, queue)}


@service.operation("DeleteQueue")
def delete_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sqs_service.delete_queue(ctx.mesh, _queue(ctx, params))
    return {}


@service.operation("ListQueues")
def list_queues(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _account_level(ctx, params)
    queues, token = sqs_service.list_queues(ctx.mesh, params.get("QueueNamePrefix"), params.get("MaxResults"),
                                            params.get("NextToken"))
    out: dict[str, Any] = {}
    if queues:
        out["QueueUrls"] = [_url(ctx, q) for q in queues]
    if token:
        out["NextToken"] = token
    return out


@service.operation("GetQueueAttributes")
def get_queue_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    names = params.get("AttributeNames")
    attributes = sqs_service.get_queue_attributes(_queue(ctx, params), names)
    # AWS answers the map even when none of the names has a value ({"Attributes": {}}).
    return {"Attributes": attributes} if names else {}


@service.operation("SetQueueAttributes")
def set_queue_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sqs_service.set_queue_attributes(ctx.mesh, _queue(ctx, params), params.get("Attributes") or {})
    return {}


@service.operation("PurgeQueue")
def purge_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _queue(ctx, params).purge()
    return {}


@service.operation("ListDeadLetterSourceQueues")
def list_dead_letter_source_queues(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    queues, token = sqs_service.list_dead_letter_source_queues(
        ctx.mesh, _queue(ctx, params), params.get("MaxResults"), params.get("NextToken"))
    out: dict[str, Any] = {"queueUrls": [_url(ctx, q) for q in queues]}
    if token:
        out["NextToken"] = token
    return out


@service.operation("ListQueueTags")
def list_queue_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": dict(_queue(ctx, params).tags)}  # {} when untagged, as AWS answers


@service.operation("TagQueue")
def tag_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sqs_service.tag_queue(_queue(ctx, params), params.get("Tags") or {})
    return {}


@service.operation("UntagQueue")
def untag_queue(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sqs_service.untag_queue(_queue(ctx, params), params.get("TagKeys") or [])
    return {}


@service.operation("AddPermission")
def add_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sqs_service.add_permission(ctx.mesh, _queue(ctx, params), params["Label"], params["AWSAccountIds"],
                               params["Actions"])
    return {}


@service.operation("RemovePermission")
def remove_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sqs_service.remove_permission(ctx.mesh, _queue(ctx, params), params["Label"])
    return {}


# -- sending ----------------------------------------------------------------------------------


def _trace_header(system: Any) -> str | None:
    """MessageSystemAttributes: only ``AWSTraceHeader`` (a String) exists."""
    if not system:
        return None
    for name, value in system.items():
        if name != "AWSTraceHeader":
            raise InvalidParameterValueException(
                f"Message system attribute name '{name}' is invalid.")
        if not isinstance(value, dict) or value.get("DataType") != "String" or not value.get("StringValue"):
            raise InvalidParameterValueException(
                "Message system attribute 'AWSTraceHeader' must contain a non-empty value of type 'String'.")
    return str(system["AWSTraceHeader"]["StringValue"])


def _sent(queue: Queue, msg: Message, system: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"MessageId": msg.id, "MD5OfMessageBody": queue.body_md5(msg)}
    digest = queue.attributes_md5(msg)
    if digest is not None:
        out["MD5OfMessageAttributes"] = digest
    if system:
        out["MD5OfMessageSystemAttributes"] = md5_of_attributes(system)
    if msg.sequence_number:
        out["SequenceNumber"] = str(msg.sequence_number)
    return out


def _entry(params: dict[str, Any]) -> SendEntry:
    body = params.get("MessageBody")
    if body is not None and not isinstance(body, str):
        raise InvalidParameterValueException(f"Value {body} for parameter MessageBody is invalid.")
    return SendEntry(body or "", params.get("MessageAttributes") or None, params.get("DelaySeconds"),
                     params.get("MessageGroupId"), params.get("MessageDeduplicationId"),
                     _trace_header(params.get("MessageSystemAttributes")), params.get("Id"))


@service.operation("SendMessage")
def send_message(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    queue = _queue(ctx, params)
    msg = queue.send(_entry(params))
    return _sent(queue, msg, params.get("MessageSystemAttributes"))


def _batch_entries(operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch rules shared by the three batch operations: 1-10 entries, ids of 1-80
    ``[A-Za-z0-9_-]``, distinct."""
    entries = params.get("Entries") or []
    if not entries:
        raise EmptyBatchRequest(
            f"There should be at least one {_BATCH_ENTRY_NAMES[operation]} in the request.")
    if len(entries) > BATCH_MAX_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are {BATCH_MAX_ENTRIES}. You have sent {len(entries)}.")
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry["Id"]
        if not _BATCH_ID.fullmatch(entry_id):
            raise InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It "
                "can be at most 80 letters long.")
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)
    return entries


def _failed(entry_id: str, error: SqsError) -> dict[str, Any]:
    return {"Id": entry_id, "SenderFault": error.sender_fault, "Code": error.wire_query_code,
            "Message": error.message}


@service.operation("SendMessageBatch")
def send_message_batch(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The hot path of the daemon: one pass builds the entries and sizes them, the core sends
    them as one batch, one pass answers (the body digest is computed once and kept)."""
    queue = _queue(ctx, params)
    entries = _batch_entries("SendMessageBatch", params)
    if queue.fifo:
        check_fifo_batch(queue.config, entries)
    total = 0
    failed: list[dict[str, Any]] = []
    sendable: list[SendEntry] = []
    systems: dict[str, Any] = {}
    for raw in entries:
        body = raw.get("MessageBody")
        attributes = raw.get("MessageAttributes")
        system = raw.get("MessageSystemAttributes")
        if isinstance(body, str):
            total += len(body) if body.isascii() else len(body.encode("utf-8", "surrogatepass"))
        if attributes:
            total += _attributes_size(attributes)
        if system or not isinstance(body, str) or len(raw) > 2 + (attributes is not None):
            try:
                sendable.append(_entry(raw))
            except SqsError as error:
                failed.append(_failed(raw["Id"], error))
                continue
            if system:
                systems[raw["Id"]] = system
        else:  # Id, MessageBody and maybe MessageAttributes: the common entry
            sendable.append(SendEntry(body, attributes or None, None, None, None, None, raw["Id"]))
    if total > SEND_BATCH_MAX_BYTES:
        raise BatchRequestTooLong(f"Batch requests cannot be longer than {SEND_BATCH_MAX_BYTES} bytes. "
                                  f"You have sent {total} bytes.")
    successful: list[dict[str, Any]] = []
    md5 = hashlib.md5
    for send, result in zip(sendable, queue.send_batch(sendable), strict=True):
        entry_id = send.id or ""
        if type(result) is Message:
            if result.md5_body is None:
                result.md5_body = md5(result.body.encode()).hexdigest()
            item = {"Id": entry_id, "MessageId": result.id, "MD5OfMessageBody": result.md5_body}
            if result.attributes or result.sequence_number or entry_id in systems:
                item.update(_sent(queue, result, systems.get(entry_id)))
            successful.append(item)
        else:
            failed.append(_failed(entry_id, result))  # type: ignore[arg-type]
    return {"Successful": successful, "Failed": failed}


def _attributes_size(attributes: Any) -> int:
    total = 0
    for name, value in attributes.items():
        if isinstance(value, dict):
            raw = value.get("StringValue") or value.get("BinaryValue") or ""
            total += len(name) + len(str(value.get("DataType", ""))) + (
                len(raw.encode()) if isinstance(raw, str) else len(raw))
    return total


# -- receiving --------------------------------------------------------------------------------


def _wanted_attributes(params: dict[str, Any]) -> frozenset[str]:
    names = {*(params.get("AttributeNames") or ()), *(params.get("MessageSystemAttributeNames") or ())}
    for name in names:
        if name not in _SYSTEM_ATTRIBUTES:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
    return frozenset(names)


def _system_attributes(ctx: RequestContext, msg: Message, wanted: frozenset[str]) -> dict[str, str]:
    every = "All" in wanted
    out: dict[str, str] = {}

    def want(name: str) -> bool:
        return every or name in wanted

    if want("SenderId"):
        out["SenderId"] = ctx.account_id
    if want("SentTimestamp"):
        out["SentTimestamp"] = str(int(msg.sent * 1000))
    if want("ApproximateReceiveCount"):
        out["ApproximateReceiveCount"] = str(msg.receive_count)
    if want("ApproximateFirstReceiveTimestamp"):
        out["ApproximateFirstReceiveTimestamp"] = str(int(msg.first_receive * 1000))
    if msg.sequence_number and want("SequenceNumber"):
        out["SequenceNumber"] = str(msg.sequence_number)
    if msg.deduplication_id and want("MessageDeduplicationId"):
        out["MessageDeduplicationId"] = msg.deduplication_id
    if msg.group_id and want("MessageGroupId"):
        out["MessageGroupId"] = msg.group_id
    if msg.trace_header and want("AWSTraceHeader"):
        out["AWSTraceHeader"] = msg.trace_header
    if msg.source_arn and want("DeadLetterQueueSourceArn"):
        out["DeadLetterQueueSourceArn"] = msg.source_arn
    return out


def _attribute_filter(names: list[str]) -> tuple[bool, frozenset[str], tuple[str, ...]] | None:
    """MessageAttributeNames as (every one, exact names, name prefixes); None when no name is
    usable. ``All``, ``*`` and ``.*`` ask for every attribute; ``Help.*`` for the names starting
    ``Help``; names that cannot be attribute names (``AWS.``, ``..foo``) are ignored, as AWS does."""
    if any(n in ("All", "*", ".*") for n in names):
        return True, frozenset(), ()
    exact = frozenset(n for n in names if _ATTRIBUTE_NAME.fullmatch(n))
    prefixes = tuple(n[:-2] for n in names if n.endswith(".*") and _ATTRIBUTE_NAME.fullmatch(n[:-2]))
    if not exact and not prefixes:
        return None
    return False, exact, prefixes


def _select_attributes(attributes: dict[str, Any],
                       selector: tuple[bool, frozenset[str], tuple[str, ...]]) -> dict[str, Any]:
    every, exact, prefixes = selector
    if every:
        return attributes
    return {k: v for k, v in attributes.items() if k in exact or (prefixes and k.startswith(prefixes))}


def _received(ctx: RequestContext, queue: Queue, msgs: list[Message],
              params: dict[str, Any]) -> dict[str, Any]:
    if not msgs:
        return {}  # AWS leaves Messages out (JSON) and answers <ReceiveMessageResult/> (XML)
    wanted = _wanted_attributes(params)
    names = params.get("MessageAttributeNames")
    selector = _attribute_filter(names) if names else None
    out = []
    for msg in msgs:
        item: dict[str, Any] = {"MessageId": msg.id, "ReceiptHandle": queue.receipt_handle(msg),
                                "MD5OfBody": queue.body_md5(msg), "Body": msg.body}
        if wanted:
            item["Attributes"] = _system_attributes(ctx, msg, wanted)
        if msg.attributes and selector is not None:
            # A filter that names none of the message's attributes answers an empty map, no digest.
            chosen = _select_attributes(msg.attributes, selector)
            item["MessageAttributes"] = chosen
            if chosen:
                item["MD5OfMessageAttributes"] = (queue.attributes_md5(msg) if chosen is msg.attributes
                                                  else md5_of_attributes(chosen))
        out.append(item)
    return {"Messages": out}


@service.operation("ReceiveMessage")
def receive_message(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any] | Deferred:
    """A short poll answers at once; a long poll (WaitTimeSeconds 1-20, or the queue's
    ReceiveMessageWaitTimeSeconds) answers as soon as a message is available, else after the wait:
    the queue itself answers it (``Queue.wait_for``), so this handler changes the engine only now."""
    queue = _queue(ctx, params)
    maximum = _int(params, "MaxNumberOfMessages", 1, MAX_RECEIVE_MESSAGES,
                   "Must be between 1 and 10, if provided.")
    wait = _int(params, "WaitTimeSeconds", 0, MAX_WAIT_TIME_S, "Must be >= 0 and <= 20, if provided.")
    timeout = _int(params, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT_S,
                   "Must be >= 0 and <= 43200, if provided.")
    attempt = params.get("ReceiveRequestAttemptId")
    _wanted_attributes(params)
    if wait is None:
        wait = queue.config.receive_message_wait_time_seconds
    count = maximum or 1
    msgs = queue.receive(count, timeout, wait=wait > 0, attempt_id=attempt, count_empty=not wait)
    if msgs or not wait:
        return _received(ctx, queue, msgs, params)
    if ctx.settings.get(DRAINING):   # shutting down: a long poll answers at once, as at its end
        queue.count_empty_receive()
        return _received(ctx, queue, msgs, params)
    waiter: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
    queue.wait_for(count, timeout, wait, attempt, waiter)

    def answer(msgs: list[Message]) -> dict[str, Any]:
        if queue.closed:
            raise QueueDoesNotExist()
        return _received(ctx, queue, msgs, params)

    return Deferred(waiter, answer)


# -- deleting and visibility -------------------------------------------------------------------


def _receipt(queue: Queue, handle: Any) -> int:
    if not isinstance(handle, str) or not handle:
        raise MissingRequiredParameterException("The request must contain the parameter ReceiptHandle.")
    return queue.parse_handle(handle)


@service.operation("DeleteMessage")
def delete_message(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    queue = _queue(ctx, params)
    queue.delete(_receipt(queue, params.get("ReceiptHandle")))
    return {}


@service.operation("DeleteMessageBatch")
def delete_message_batch(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    queue = _queue(ctx, params)
    entries = _batch_entries("DeleteMessageBatch", params)
    failed: list[dict[str, Any]] = []
    ids: list[str] = []
    receipts: list[int] = []
    for entry in entries:
        try:
            receipts.append(_receipt(queue, entry.get("ReceiptHandle")))
            ids.append(entry["Id"])
        except (ReceiptHandleIsInvalid, MissingRequiredParameterException) as error:
            failed.append(_failed(entry["Id"], error))
    failures = queue.delete_batch(receipts)
    successful = [{"Id": entry_id} for i, entry_id in enumerate(ids) if i not in failures]
    failed.extend(_failed(ids[i], error) for i, error in failures.items())
    return {"Successful": successful, "Failed": failed}


def _visibility(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_VISIBILITY_TIMEOUT_S:
        raise InvalidParameterValueException(
            f"Value {value} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and "
            f"{MAX_VISIBILITY_TIMEOUT_S}, if provided.")
    return value


@service.operation("ChangeMessageVisibility")
def change_message_visibility(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    queue = _queue(ctx, params)
    receipt = _receipt(queue, params.get("ReceiptHandle"))
    queue.change_visibility(receipt, _visibility(params["VisibilityTimeout"]))
    return {}


@service.operation("ChangeMessageVisibilityBatch")
def change_message_visibility_batch(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    queue = _queue(ctx, params)
    entries = _batch_entries("ChangeMessageVisibilityBatch", params)
    successful: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for entry in entries:
        try:
            change = (_receipt(queue, entry.get("ReceiptHandle")),
                      _visibility(entry.get("VisibilityTimeout", 0)))
        except SqsError as error:
            failed.append(_failed(entry["Id"], error))
            continue
        [outcome] = queue.change_visibility_batch([change])
        if outcome is None:
            successful.append({"Id": entry["Id"]})
        else:
            failed.append(_failed(entry["Id"], outcome))
    return {"Successful": successful, "Failed": failed}


# -- message move tasks -------------------------------------------------------------------------


@service.operation("StartMessageMoveTask")
def start_message_move_task(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    task = move_tasks.start_message_move_task(ctx.mesh, params["SourceArn"], params.get("DestinationArn"),
                                              params.get("MaxNumberOfMessagesPerSecond"))
    return {"TaskHandle": task.handle}


@service.operation("ListMessageMoveTasks")
def list_message_move_tasks(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    results = move_tasks.list_message_move_tasks(ctx.mesh, params["SourceArn"], params.get("MaxResults"))
    return {"Results": results}


@service.operation("CancelMessageMoveTask")
def cancel_message_move_task(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    moved = move_tasks.cancel_message_move_task(ctx.mesh, params["TaskHandle"])
    return {"ApproximateNumberOfMessagesMoved": moved}
