"""Amazon SNS over the AWS Query protocol (``Action=<Op>&Version=2010-03-31``): adapters only.

Each handler turns the request (the botocore ``sns`` model's JSON shape: attribute maps as dicts,
``BinaryValue`` as bytes) into calls on ``topic.py`` / ``service.py`` and the
results into the model's output shape; the protocol layer writes the XML. Topics created here
carry the daemon's own URL, so SubscribeURL / UnsubscribeURL in delivered messages point back at
the daemon (a GET on them is a Query call it answers).
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from eventmesh.errors import EntryError
from eventmesh.services.sns import service as sns_service
from eventmesh.services.sns.delivery import Subscription
from eventmesh.services.sns.errors import ValidationError, invalid_parameter
from eventmesh.services.sns.topic import MAX_MESSAGE_BYTES, PublishEntry, PublishResult, Topic
from eventmesh.wire.limits import FORM_EXPANSION, request_bytes
from eventmesh.wire.service import RequestContext, Service
from eventmesh.wire.validate import Problem, validation_exception

__all__ = ["service"]


_ATTRIBUTE_PATH = re.compile(r"^messageAttributes\.([^.]+)\.(\w+)$")


def _validation_error(problems: list[Problem]) -> ValidationError:
    """SNS words model violations as JSON services do, with a ``member.`` step inside message
    attributes: ``Value null at 'messageAttributes.attr1.member.dataType'``."""
    renamed = [msgspec.structs.replace(p, path=_ATTRIBUTE_PATH.sub(r"messageAttributes.\1.member.\2", p.path))
               for p in problems]
    return ValidationError(validation_exception(renamed).message)


# Publish: 256 KiB of message and attributes, form-encoded.
service = Service("sns", validation_error=_validation_error,
                  max_request_bytes=request_bytes(MAX_MESSAGE_BYTES, FORM_EXPANSION))


def _base_url(ctx: RequestContext) -> str:
    return f"http://{ctx.host}"


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or ()}


def _topic(ctx: RequestContext, params: dict[str, Any]) -> Topic:
    return sns_service.get_topic(ctx.mesh, params["TopicArn"])


def _more(token: str | None) -> dict[str, str]:
    return {"NextToken": token} if token else {}


def _entry(params: dict[str, Any], entry_id: str = "") -> PublishEntry:
    return PublishEntry(
        id=params.get("Id", entry_id), message=params["Message"], subject=params.get("Subject"),
        message_structure=params.get("MessageStructure"),
        message_attributes=params.get("MessageAttributes") or {},
        message_deduplication_id=params.get("MessageDeduplicationId"),
        message_group_id=params.get("MessageGroupId"))


def _listed(sub: Subscription) -> dict[str, str]:
    return {"SubscriptionArn": sns_service.listed_arn(sub), "Owner": sub.owner, "Protocol": sub.protocol,
            "Endpoint": sub.endpoint, "TopicArn": sub.topic_arn}


# -- topics -----------------------------------------------------------------------------------


@service.operation("CreateTopic")
def create_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = sns_service.create_topic(ctx.mesh, params["Name"], params.get("Attributes"),
                                     _tags(params.get("Tags")), _base_url(ctx))
    return {"TopicArn": topic.arn}


@service.operation("DeleteTopic")
def delete_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sns_service.delete_topic(ctx.mesh, params["TopicArn"])
    return {}


@service.operation("ListTopics")
def list_topics(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arns, token = sns_service.list_topics(ctx.mesh, params.get("NextToken"))
    return {"Topics": [{"TopicArn": arn} for arn in arns], **_more(token)}


@service.operation("GetTopicAttributes")
def get_topic_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"Attributes": _topic(ctx, params).attributes()}


@service.operation("SetTopicAttributes")
def set_topic_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _topic(ctx, params).set_attribute(params["AttributeName"], params.get("AttributeValue") or "")
    return {}


# -- subscriptions ----------------------------------------------------------------------------


@service.operation("Subscribe")
def subscribe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = _topic(ctx, params)
    sub = topic.subscriptions.subscribe(params["Protocol"], params.get("Endpoint") or "",
                                        params.get("Attributes"))
    pending = not sub.confirmed and not params.get("ReturnSubscriptionArn")
    return {"SubscriptionArn": sns_service.PENDING_ARN if pending else sub.arn}


@service.operation("ConfirmSubscription")
def confirm_subscription(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = _topic(ctx, params)
    authenticate = str(params.get("AuthenticateOnUnsubscribe", "")).lower() == "true"
    sub = topic.subscriptions.confirm(params["Token"], authenticate)
    return {"SubscriptionArn": sub.arn}


@service.operation("Unsubscribe")
def unsubscribe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sns_service.unsubscribe(ctx.mesh, params["SubscriptionArn"])
    return {}


@service.operation("ListSubscriptions")
def list_subscriptions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    subs, token = sns_service.list_subscriptions(ctx.mesh, params.get("NextToken"))
    return {"Subscriptions": [_listed(sub) for sub in subs], **_more(token)}


@service.operation("ListSubscriptionsByTopic")
def list_subscriptions_by_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    subs, token = sns_service.list_subscriptions(ctx.mesh, params.get("NextToken"), _topic(ctx, params))
    return {"Subscriptions": [_listed(sub) for sub in subs], **_more(token)}


@service.operation("GetSubscriptionAttributes")
def get_subscription_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic, sub = sns_service.find_subscription(ctx.mesh, params["SubscriptionArn"])
    return {"Attributes": topic.subscriptions.attributes(sub)}


@service.operation("SetSubscriptionAttributes")
def set_subscription_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic, sub = sns_service.find_subscription(ctx.mesh, params["SubscriptionArn"])
    topic.subscriptions.set_attribute(sub, params["AttributeName"], params.get("AttributeValue") or "")
    return {}


# -- publishing -------------------------------------------------------------------------------


@service.operation("Publish")
def publish(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params.get("TopicArn") or params.get("TargetArn")
    if arn is None:
        if params.get("PhoneNumber"):  # SMS is not modelled: accepted, not delivered
            return {"MessageId": ctx.mesh.ids.uuid()}
        raise invalid_parameter("TopicArn or TargetArn", "no value for required parameter")
    topic = sns_service.get_topic(ctx.mesh, arn, "TopicArn" if params.get("TopicArn") else "TargetArn")
    result = topic.publish(_entry(params))
    out = {"MessageId": result.message_id}
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


def _batch_result(result: PublishResult | EntryError) -> dict[str, Any]:
    if isinstance(result, EntryError):
        return {"Id": result.id, "Code": result.code, "Message": result.message,
                "SenderFault": result.sender_fault}
    out = {"Id": result.id, "MessageId": result.message_id}
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


@service.operation("PublishBatch")
def publish_batch(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    topic = _topic(ctx, params)
    entries = [_entry(entry) for entry in params.get("PublishBatchRequestEntries") or []]
    sns_service.check_batch(entries)
    results = topic.publish_batch(entries)
    return {"Successful": [_batch_result(r) for r in results if not isinstance(r, EntryError)],
            "Failed": [_batch_result(r) for r in results if isinstance(r, EntryError)]}


# -- tags -------------------------------------------------------------------------------------


@service.operation("TagResource")
def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sns_service.tag_resource(ctx.mesh, params["ResourceArn"], _tags(params.get("Tags")))
    return {}


@service.operation("UntagResource")
def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    sns_service.untag_resource(ctx.mesh, params["ResourceArn"], list(params.get("TagKeys") or ()))
    return {}


@service.operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = sns_service.list_tags(ctx.mesh, params["ResourceArn"])
    return {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}
