"""SNS service level: the account-wide operations over topics (create, delete, list with
pagination, find a subscription by ARN, PublishBatch checks, tags).

Topics are Mesh resources (``mesh.resources("sns")``); subscriptions belong to their topic
(``subscriptions.py``), whose ARN is their ARN without the trailing ``:<uuid>``.
https://docs.aws.amazon.com/sns/latest/api/API_Operations.html
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
"""

from __future__ import annotations

import base64
import re

from eventmesh.mesh import Mesh
from eventmesh.services.sns.delivery import Subscription
from eventmesh.services.sns.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameter,
    NotFound,
    ResourceNotFound,
    TagLimitExceeded,
    TooManyEntriesInBatchRequest,
    invalid_attribute,
    invalid_parameter,
)
from eventmesh.services.sns.records import attributes_size
from eventmesh.services.sns.topic import PublishEntry, Topic

__all__ = [
    "check_arn",
    "check_tags",
    "create_topic",
    "get_topic",
    "topic_arn_parts",
    "delete_topic",
    "list_topics",
    "confirm_subscription",
    "find_subscription",
    "unsubscribe",
    "list_subscriptions",
    "check_batch",
    "tag_resource",
    "untag_resource",
    "list_tags",
]

PAGE_SIZE = 100  # ListTopics / ListSubscriptions page size
MAX_TAGS_PER_RESOURCE = 50
TAG_LIMIT_MESSAGE = "Could not complete request: tag quota of per resource exceeded"
PENDING_ARN = "pending confirmation"  # Subscribe's answer for a pending subscription
PENDING_LISTED = "PendingConfirmation"  # how List* show it
PUBLISH_BATCH_MAX_ENTRIES = 10  # PublishBatch entries
MAX_BATCH_ID_CHARS = 80  # batch entry Id: up to 80 characters [A-Za-z0-9_-]
PUBLISH_BATCH_MAX_BYTES = 262_144  # total of all messages in a PublishBatch
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]*$")
_TOKEN = re.compile(r"^[0-9a-fA-F]+$")  # confirmation tokens are hex


# -- account-wide operations ------------------------------------------------------------------


def create_topic(mesh: Mesh, name: str, attributes: dict[str, str] | None = None,
                 tags: dict[str, str] | None = None, base_url: str | None = None) -> Topic:
    """CreateTopic: idempotent for the same name when every given attribute has the topic's value
    and every given tag is already on the topic (fewer tags, or none, are fine; a new key or value
    is ``Topic already exists with different tags``)."""
    attributes = attributes or {}
    existing = mesh.find(mesh.arn("sns", name), Topic)
    if existing is not None:
        if not existing.same_attributes(attributes):
            raise invalid_attribute("Topic already exists with different attributes")
        if tags and any(existing.tags.get(key) != value for key, value in tags.items()):
            raise invalid_parameter("Tags", "Topic already exists with different tags")
        return existing
    if tags:
        check_tags(tags)
        if len(tags) > MAX_TAGS_PER_RESOURCE:
            raise TagLimitExceeded(TAG_LIMIT_MESSAGE)
    topic = Topic(mesh, name, attributes, tags, base_url)
    mesh.add(topic)
    return topic


def check_arn(text: str, member: str) -> list[str]:
    """The ``:``-separated parts of an SNS ARN, or AWS's InvalidParameter for ``member``."""
    parts = text.split(":")
    if len(parts) < 6:
        raise invalid_parameter(member, f"An ARN must have at least 6 elements, not {len(parts)}")
    if parts[0] != "arn" or parts[2] != "sns":
        raise invalid_parameter(member)
    return parts


def topic_arn_parts(mesh: Mesh, arn: str, member: str = "TopicArn") -> list[str]:
    """A topic ARN the caller may address: six parts, in the caller's Region (SNS answers a topic
    of another Region ``Invalid parameter: TopicArn``, even when it exists)."""
    parts = check_arn(arn, member)
    if len(parts) != 6 or parts[3] != mesh.region:
        raise invalid_parameter(member)
    return parts


def get_topic(mesh: Mesh, arn: str, member: str = "TopicArn") -> Topic:
    """The topic at ``arn``: a malformed ARN is InvalidParameter, a missing topic NotFound."""
    topic_arn_parts(mesh, arn, member)
    topic = mesh.find(arn, Topic)
    if topic is None:
        raise NotFound("Topic does not exist")
    return topic


def delete_topic(mesh: Mesh, arn: str) -> None:
    """DeleteTopic: idempotent; its subscriptions go with it."""
    topic_arn_parts(mesh, arn)
    if mesh.find(arn, Topic) is not None:
        mesh.remove(arn)


def _topics(mesh: Mesh) -> list[Topic]:
    return list(mesh.resources("sns", Topic))


def _page(token: str | None, total: int) -> tuple[int, int]:
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise invalid_parameter("NextToken") from None
    return start, min(total, start + PAGE_SIZE)


def _next(end: int, total: int) -> str | None:
    return base64.urlsafe_b64encode(str(end).encode()).decode() if end < total else None


def list_topics(mesh: Mesh, next_token: str | None = None) -> tuple[list[str], str | None]:
    """ListTopics: 100 ARNs a page, in creation order."""
    arns = [t.arn for t in _topics(mesh)]
    start, end = _page(next_token, len(arns))
    return arns[start:end], _next(end, len(arns))


def find_subscription(mesh: Mesh, arn: str) -> tuple[Topic, Subscription]:
    """The subscription at ``arn`` and its topic, else NotFound ``Subscription does not exist``; an
    ARN of six parts (a topic's, no subscription id) is ``Invalid parameter: SubscriptionId``."""
    parts = check_arn(arn, "SubscriptionArn")
    if len(parts) == 6:
        raise invalid_parameter("SubscriptionId")
    topic = mesh.find(":".join(parts[:6]), Topic)
    sub = topic.subscriptions.get(arn) if topic is not None else None
    if topic is None or sub is None:
        raise NotFound("Subscription does not exist")
    return topic, sub


def confirm_subscription(mesh: Mesh, topic_arn: str, token: str,
                         authenticate_on_unsubscribe: bool = False) -> Subscription:
    """ConfirmSubscription: a topic ARN that is not one of the caller's Region is ``Invalid
    parameter: Topic``; a token that is not hex ``Invalid token``; an unknown or expired one
    (also for a topic that does not exist) ``Invalid parameter: Token``."""
    try:
        topic_arn_parts(mesh, topic_arn)
    except InvalidParameter:
        raise invalid_parameter("Topic") from None
    if not _TOKEN.match(token):
        raise InvalidParameter("Invalid token")
    topic = mesh.find(topic_arn, Topic)
    if topic is None:
        raise invalid_parameter("Token")
    return topic.subscriptions.confirm(token, authenticate_on_unsubscribe)


def unsubscribe(mesh: Mesh, arn: str) -> None:
    """Unsubscribe: idempotent for an unknown but well-formed ARN."""
    try:
        topic, sub = find_subscription(mesh, arn)
    except NotFound:
        return
    topic.subscriptions.unsubscribe(sub)


def list_subscriptions(mesh: Mesh, next_token: str | None = None,
                       topic: Topic | None = None) -> tuple[list[Subscription], str | None]:
    """ListSubscriptions / ListSubscriptionsByTopic: 100 a page, in subscription order."""
    topics = [topic] if topic is not None else _topics(mesh)
    subs = [sub for t in topics for sub in t.subscriptions]
    start, end = _page(next_token, len(subs))
    return subs[start:end], _next(end, len(subs))


def listed_arn(sub: Subscription) -> str:
    return sub.arn if sub.confirmed else PENDING_LISTED


def check_batch(entries: list[PublishEntry]) -> None:
    """PublishBatch's whole-request checks: 1–10 entries, distinct well-formed ids, and all the
    messages with their attributes at most 256 KB."""
    if not entries:
        raise EmptyBatchRequest("The batch request doesn't contain any entries.")
    if len(entries) > PUBLISH_BATCH_MAX_ENTRIES:
        raise TooManyEntriesInBatchRequest("The batch request contains more entries than permissible.")
    seen: set[str] = set()
    for entry in entries:
        if len(entry.id) > MAX_BATCH_ID_CHARS:
            raise InvalidBatchEntryId(f"The Id of a batch entry in the batch request is too long: {entry.id}")
        if not entry.id or not _BATCH_ID.match(entry.id):
            raise InvalidBatchEntryId("The Id of a batch entry in the batch request contains an "
                                      f"impermissible character: {entry.id}")
        if entry.id in seen:
            raise BatchEntryIdsNotDistinct("Two or more batch entries in the request have the same Id.")
        seen.add(entry.id)
    size = sum(len(entry.message.encode()) + attributes_size(entry.message_attributes) for entry in entries)
    if size > PUBLISH_BATCH_MAX_BYTES:
        raise BatchRequestTooLong("The length of all the messages put together is more than the limit.")


def check_tags(tags: dict[str, str] | list[dict[str, str]]) -> None:
    """Tag rules beyond the model's lengths: no key twice in one request."""
    keys = [t["Key"] for t in tags] if isinstance(tags, list) else list(tags)
    if len(set(keys)) != len(keys):
        raise invalid_parameter("Duplicated keys are not allowed.")


def _tagged(mesh: Mesh, arn: str) -> Topic:
    topic_arn_parts(mesh, arn, "ResourceArn")
    topic = mesh.find(arn, Topic)
    if topic is None:
        raise ResourceNotFound("Resource does not exist")
    return topic


def tag_resource(mesh: Mesh, arn: str, tags: list[dict[str, str]]) -> None:
    """TagResource: keys distinct, at most 50 per topic (existing keys are overwritten)."""
    check_tags(tags)
    topic = _tagged(mesh, arn)
    merged = {**topic.tags, **{t["Key"]: t["Value"] for t in tags}}
    if len(merged) > MAX_TAGS_PER_RESOURCE:
        raise TagLimitExceeded(TAG_LIMIT_MESSAGE)
    topic.tags = merged


def untag_resource(mesh: Mesh, arn: str, keys: list[str]) -> None:
    topic = _tagged(mesh, arn)
    for key in keys:
        topic.tags.pop(key, None)


def list_tags(mesh: Mesh, arn: str) -> dict[str, str]:
    return dict(_tagged(mesh, arn).tags)
