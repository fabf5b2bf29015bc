"""What in a request names the resource it acts on, per service and operation.

The router has already decoded the request (whatever its protocol: Query, AWS JSON, CBOR,
REST-JSON), so every rule reads the operation's parameters in the model's shape:

=====================  ====================================================================
SQS                    ``QueueUrl`` (Query: the path); CreateQueue/GetQueueUrl ``QueueName``;
                       move tasks ``SourceArn`` or the ``TaskHandle`` (it carries the source
                       ARN); a new queue with a ``RedrivePolicy`` goes where its DLQ is
SNS                    ``TopicArn``; ``SubscriptionArn`` (the topic's ARN and an id);
                       ``ResourceArn``; Publish ``TargetArn``/``PhoneNumber`` (the home);
                       CreateTopic ``Name``; SMS and platform applications at the home
Kinesis                ``StreamARN`` or ``StreamName``; ``ConsumerARN`` (the stream's ARN and
                       the consumer); ``ResourceARN`` (either); GetRecords the ``ShardIterator`` (it carries the stream
                       ARN); ListShards a ``NextToken`` (idem)
Lambda                 the home of ``FunctionName``'s account and Region (a name, a partial or
                       a full ARN); event source mappings where their ``EventSourceArn`` is,
                       by ``UUID`` where the directory says
EventBridge, Logs,     the home of the caller's account and Region (or of an ARN's, when one
IAM, STS               names another)
list operations        every worker (``ALL``), merged by ``workers.lists``
=====================  ====================================================================
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from eventmesh.arn import format_arn
from eventmesh.services.iam.store import GLOBAL_SCOPE
from eventmesh.services.kinesis.shards import decode_iterator
from eventmesh.services.sqs.service import parse_queue_url

__all__ = ["ALL", "ANY", "ARN", "CREATE", "Route", "route"]

ARN, CREATE, ALL, ANY = 0, 1, 2, 3


class Route(NamedTuple):
    """``ARN``: the owner of ``arn``; ``CREATE``: a new spread resource ``arn`` (placed by its
    arbiter, beside ``near``'s owner if given); ``ALL``: every worker; ``ANY``: this one."""

    kind: int
    arn: str = ""
    near: str = ""


_ANY = Route(ANY)
_ALL = Route(ALL)
Get = Callable[[str], Any]
Rule = Callable[[Get, str, str], Route]   # (get parameter, caller's account, caller's Region)


def _home(service: str, account: str, region: str) -> Route:
    return Route(ARN, format_arn(service, region, account, ""))


def _arn_scope(arn: Any, account: str, region: str) -> tuple[str, str]:
    """The account and Region an ARN names (the caller's where it leaves them out)."""
    if isinstance(arn, str) and arn.startswith("arn:"):
        parts = arn.split(":", 5)
        if len(parts) == 6:
            return parts[4] or account, parts[3] or region
    return account, region


# -- SQS -------------------------------------------------------------------------------------

def _queue_arn(url: Any, account: str, region: str) -> str:
    # As queue_from_url resolves it: the URL's Region (else the caller's), the caller's account.
    url_region, _, name = parse_queue_url(url) if isinstance(url, str) else (None, None, "")
    return format_arn("sqs", url_region or region, account, name)


def _sqs_queue(get: Get, account: str, region: str) -> Route:
    url = get("QueueUrl")
    return Route(ARN, _queue_arn(url, account, region)) if url else _home("sqs", account, region)


def _sqs_create(get: Get, account: str, region: str) -> Route:
    arn = format_arn("sqs", region, account, str(get("QueueName") or ""))
    near = ""
    policy = (get("Attributes") or {}).get("RedrivePolicy") if isinstance(get("Attributes"), dict) else None
    if isinstance(policy, str):
        try:
            target = json.loads(policy).get("deadLetterTargetArn")
        except (ValueError, AttributeError):
            target = None
        if isinstance(target, str) and target.startswith("arn:") and target != arn:
            near = target
    return Route(CREATE, arn, near)


def _sqs_by_name(get: Get, account: str, region: str) -> Route:
    return Route(ARN, format_arn("sqs", region, account, str(get("QueueName") or "")))


def _sqs_source(get: Get, account: str, region: str) -> Route:
    source = get("SourceArn")
    return Route(ARN, source) if isinstance(source, str) and source else _home("sqs", account, region)


def _sqs_task(get: Get, account: str, region: str) -> Route:
    try:
        source = json.loads(base64.b64decode(str(get("TaskHandle")), validate=True))["sourceArn"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return _ANY   # a handle that is not one of ours: any worker says so
    return Route(ARN, source) if isinstance(source, str) else _ANY


# -- SNS -------------------------------------------------------------------------------------

def _sns_topic(member: str) -> Rule:
    def rule(get: Get, account: str, region: str) -> Route:
        arn = get(member)
        return Route(ARN, arn) if isinstance(arn, str) and arn.startswith("arn:") else _ANY
    return rule


def _sns_create(get: Get, account: str, region: str) -> Route:
    return Route(CREATE, format_arn("sns", region, account, str(get("Name") or "")))


def _sns_publish(get: Get, account: str, region: str) -> Route:
    topic = get("TopicArn")
    if isinstance(topic, str) and topic.startswith("arn:"):
        return Route(ARN, topic)
    target = get("TargetArn")
    if isinstance(target, str) and target.startswith("arn:"):
        return Route(ARN, target)
    return _home("sns", account, region)


def _sns_home(get: Get, account: str, region: str) -> Route:
    return _home("sns", account, region)


def _sns_platform(member: str) -> Rule:
    def rule(get: Get, account: str, region: str) -> Route:
        return _home("sns", *_arn_scope(get(member), account, region))
    return rule


# -- Kinesis ---------------------------------------------------------------------------------

def _stream_arn(get: Get, account: str, region: str) -> str | None:
    arn = get("StreamARN")
    if isinstance(arn, str) and arn:
        return arn
    name = get("StreamName")
    if isinstance(name, str) and name:
        return format_arn("kinesis", region, account, f"stream/{name}")
    return None


def _kinesis_stream(get: Get, account: str, region: str) -> Route:
    arn = _stream_arn(get, account, region)
    return Route(ARN, arn) if arn else _ANY   # neither: any worker answers the error


def _kinesis_create(get: Get, account: str, region: str) -> Route:
    return Route(CREATE, format_arn("kinesis", region, account, f"stream/{get('StreamName') or ''}"))


def _kinesis_consumer(get: Get, account: str, region: str) -> Route:
    consumer = get("ConsumerARN")
    if isinstance(consumer, str) and consumer.startswith("arn:"):
        return Route(ARN, consumer)
    return _kinesis_stream(get, account, region)


def _kinesis_resource(get: Get, account: str, region: str) -> Route:
    """TagResource and the resource-policy operations: a stream's or a consumer's ARN."""
    arn = get("ResourceARN")
    return Route(ARN, arn) if isinstance(arn, str) and arn.startswith("arn:") else _ANY


def _kinesis_records(get: Get, account: str, region: str) -> Route:
    iterator = str(get("ShardIterator"))
    if len(iterator) > 2 and iterator[0] == iterator[-1] == '"':
        iterator = iterator[1:-1]   # as GetRecords reads it
    try:
        return Route(ARN, decode_iterator(iterator).stream_arn)
    except Exception:   # not one of ours: any worker answers InvalidArgumentException
        return _ANY


def _kinesis_shards(get: Get, account: str, region: str) -> Route:
    token = get("NextToken")
    if isinstance(token, str) and token and not get("StreamName") and not get("StreamARN"):
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
            return Route(ARN, str(decoded[0]))
        except (ValueError, binascii.Error, IndexError, TypeError, KeyError):
            return _ANY
    return _kinesis_stream(get, account, region)


# -- Lambda ----------------------------------------------------------------------------------

def function_scope(name: Any, account: str, region: str) -> tuple[str, str]:
    """The account and Region of a FunctionName: a name, ``name:qualifier``,
    ``account:function:name`` or a full ARN."""
    if not isinstance(name, str):
        return account, region
    parts = name.split(":")
    if parts[0] == "arn" and len(parts) >= 5:
        return parts[4] or account, parts[3] or region
    if len(parts) >= 3 and parts[1] == "function":
        return parts[0], region
    return account, region


def _lambda_function(member: str) -> Rule:
    def rule(get: Get, account: str, region: str) -> Route:
        owner, where = function_scope(get(member), account, region)
        return _home("lambda", owner, where)
    return rule


def _mapping_create(get: Get, account: str, region: str) -> Route:
    source = get("EventSourceArn")
    if isinstance(source, str) and source.startswith("arn:"):
        return Route(ARN, source)
    return _home("lambda", account, region)


def _mapping(get: Get, account: str, region: str) -> Route:
    return Route(ARN, format_arn("lambda", region, account, f"event-source-mapping:{get('UUID') or ''}"))


def _mapping_list(get: Get, account: str, region: str) -> Route:
    source = get("EventSourceArn")
    return Route(ARN, source) if isinstance(source, str) and source.startswith("arn:") else _ALL


# -- the others ------------------------------------------------------------------------------

def _home_of(service: str, *members: str) -> Rule:
    """The home of the caller's account and Region, or of the first member that is an ARN."""
    def rule(get: Get, account: str, region: str) -> Route:
        for member in members:
            value = get(member)
            if isinstance(value, str) and value.startswith("arn:"):
                return _home(service, *_arn_scope(value, account, region))
        return _home(service, account, region)
    return rule


def _events_put(get: Get, account: str, region: str) -> Route:
    entries = get("Entries") or get("entries") or []
    first = entries[0] if entries else None
    bus = first.get("EventBusName") if isinstance(first, dict) else getattr(first, "event_bus_name", None)
    if isinstance(bus, str) and bus.startswith("arn:"):
        return _home("events", *_arn_scope(bus, account, region))
    return _home("events", account, region)


def _iam(get: Get, account: str, region: str) -> Route:
    return _home("iam", account, GLOBAL_SCOPE)


def _build() -> dict[tuple[str, str], Rule]:
    table: dict[tuple[str, str], Rule] = {}
    for op in ("DeleteQueue", "GetQueueAttributes", "SetQueueAttributes", "PurgeQueue",
               "ListDeadLetterSourceQueues", "ListQueueTags", "TagQueue", "UntagQueue", "AddPermission",
               "RemovePermission", "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage",
               "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"):
        table[("sqs", op)] = _sqs_queue
    table[("sqs", "CreateQueue")] = _sqs_create
    table[("sqs", "GetQueueUrl")] = _sqs_by_name
    table[("sqs", "ListQueues")] = lambda get, account, region: _ALL
    table[("sqs", "StartMessageMoveTask")] = _sqs_source
    table[("sqs", "ListMessageMoveTasks")] = _sqs_source
    table[("sqs", "CancelMessageMoveTask")] = _sqs_task

    for op in ("DeleteTopic", "GetTopicAttributes", "SetTopicAttributes", "Subscribe", "ConfirmSubscription",
               "ListSubscriptionsByTopic", "PublishBatch", "AddPermission", "RemovePermission"):
        table[("sns", op)] = _sns_topic("TopicArn")
    for op in ("Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes"):
        table[("sns", op)] = _sns_topic("SubscriptionArn")
    for op in ("TagResource", "UntagResource", "ListTagsForResource", "PutDataProtectionPolicy",
               "GetDataProtectionPolicy"):
        table[("sns", op)] = _sns_topic("ResourceArn")
    table[("sns", "CreateTopic")] = _sns_create
    table[("sns", "Publish")] = _sns_publish
    table[("sns", "ListTopics")] = lambda get, account, region: _ALL
    table[("sns", "ListSubscriptions")] = lambda get, account, region: _ALL
    for op in ("CheckIfPhoneNumberIsOptedOut", "OptInPhoneNumber", "ListPhoneNumbersOptedOut", "SetSMSAttributes",
               "GetSMSAttributes", "GetSMSSandboxAccountStatus", "CreateSMSSandboxPhoneNumber",
               "VerifySMSSandboxPhoneNumber", "DeleteSMSSandboxPhoneNumber", "ListSMSSandboxPhoneNumbers",
               "ListOriginationNumbers", "CreatePlatformApplication", "ListPlatformApplications"):
        table[("sns", op)] = _sns_home
    for op in ("GetPlatformApplicationAttributes", "SetPlatformApplicationAttributes", "DeletePlatformApplication",
               "CreatePlatformEndpoint", "ListEndpointsByPlatformApplication"):
        table[("sns", op)] = _sns_platform("PlatformApplicationArn")
    for op in ("GetEndpointAttributes", "SetEndpointAttributes", "DeleteEndpoint"):
        table[("sns", op)] = _sns_platform("EndpointArn")

    for op in ("DeleteStream", "DescribeStream", "DescribeStreamSummary", "IncreaseStreamRetentionPeriod",
               "DecreaseStreamRetentionPeriod", "SplitShard", "MergeShards", "UpdateShardCount", "UpdateStreamMode",
               "AddTagsToStream", "RemoveTagsFromStream", "ListTagsForStream", "PutRecord", "PutRecords",
               "GetShardIterator", "RegisterStreamConsumer", "ListStreamConsumers", "EnableEnhancedMonitoring",
               "DisableEnhancedMonitoring", "StartStreamEncryption", "StopStreamEncryption", "UpdateMaxRecordSize"):
        table[("kinesis", op)] = _kinesis_stream
    for op in ("TagResource", "UntagResource", "ListTagsForResource", "PutResourcePolicy", "GetResourcePolicy",
               "DeleteResourcePolicy"):
        table[("kinesis", op)] = _kinesis_resource
    table[("kinesis", "CreateStream")] = _kinesis_create
    table[("kinesis", "ListStreams")] = lambda get, account, region: _ALL
    table[("kinesis", "DescribeLimits")] = lambda get, account, region: _ALL
    table[("kinesis", "ListShards")] = _kinesis_shards
    table[("kinesis", "GetRecords")] = _kinesis_records
    for op in ("DescribeStreamConsumer", "DeregisterStreamConsumer", "SubscribeToShard"):
        table[("kinesis", op)] = _kinesis_consumer

    table[("lambda", "CreateEventSourceMapping")] = _mapping_create
    for op in ("GetEventSourceMapping", "UpdateEventSourceMapping", "DeleteEventSourceMapping"):
        table[("lambda", op)] = _mapping
    table[("lambda", "ListEventSourceMappings")] = _mapping_list
    for op in ("ListTags", "TagResource", "UntagResource"):
        table[("lambda", op)] = _lambda_function("Resource")
    table[("events", "PutEvents")] = _events_put
    return table


_TABLE = _build()
_LAMBDA = _lambda_function("FunctionName")
_EVENTS = _home_of("events", "EventBusName", "EventSourceArn", "ResourceARN")
_LOGS = _home_of("logs", "logGroupIdentifier", "resourceArn")
_BY_SERVICE: dict[str, Rule] = {"lambda": _LAMBDA, "events": _EVENTS, "logs": _LOGS, "iam": _iam,
                                "sts": lambda get, account, region: _ANY}


def route(service: str, operation: str, params: Any, account: str, region: str) -> Route:
    """Where a request for ``service.operation`` with ``params`` (a dict, or the operation's
    request Struct) from ``account`` in ``region`` goes."""
    if isinstance(params, dict):
        get: Get = params.get
    else:
        def get(name: str) -> Any:
            return getattr(params, name, None)
    rule = _TABLE.get((service, operation)) or _BY_SERVICE.get(service)
    if rule is None:
        return _home(service, account, region)
    return rule(get, account, region)
