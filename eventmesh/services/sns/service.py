"""SNS service level: a topic's subscriptions (subscribe, confirm, attributes) and the account-wide
operations over topics (create, delete, list with pagination, find a subscription, tags).

Everything that decides whether a subscription exists, is confirmed, and with which attributes
lives here (spec sns.md §3); what a topic does with its subscriptions lives in ``topic``.
Topics are Mesh resources (``mesh.resources("sns")``); subscriptions belong to their topic, whose
ARN is their ARN without the trailing ``:<uuid>``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import msgspec

from eventmesh.patterns import InvalidPatternError, compile_filter_policy
from eventmesh.services.sns.delivery import (
    Subscription,
    parse_subscription_delivery_policy,
)
from eventmesh.services.sns.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    FilterPolicyLimitExceeded,
    InternalError,
    InvalidBatchEntryId,
    InvalidParameter,
    NotFound,
    ResourceNotFound,
    TagLimitExceeded,
    TooManyEntriesInBatchRequest,
    invalid_attribute,
    invalid_parameter,
)
from eventmesh.services.sns.records import http_confirmation

if TYPE_CHECKING:
    from eventmesh.mesh import Mesh
    from eventmesh.services.sns.topic import PublishEntry, Topic

__all__ = [
    "Subscriptions",
    "create_topic",
    "get_topic",
    "delete_topic",
    "list_topics",
    "find_subscription",
    "unsubscribe",
    "list_subscriptions",
    "check_batch",
    "tag_resource",
    "untag_resource",
    "list_tags",
]

PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
RAW_PROTOCOLS = ("sqs", "http", "https", "firehose")  # §3 RawMessageDelivery applies to these only
FILTER_SCOPES = ("MessageAttributes", "MessageBody")  # §6 FilterPolicyScope
SETTABLE_SUBSCRIPTION_ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope",
                                    "RawMessageDelivery", "RedrivePolicy", "SubscriptionRoleArn",
                                    "ReplayPolicy")
CONFIRMATION_TOKEN_TTL_S = 3 * 86_400.0  # §3 confirmation tokens expire after 3 days (unverified)
CONFIRMATION_TOKEN_BYTES = 64
MAX_FILTER_POLICIES_PER_TOPIC = 200  # §6 filter policies per topic
PAGE_SIZE = 100  # ListTopics / ListSubscriptions page size
MAX_TAGS_PER_RESOURCE = 50
PENDING_ARN = "pending confirmation"  # Subscribe's answer for a pending subscription
PENDING_LISTED = "PendingConfirmation"  # how List* show it
MAX_BATCH_ENTRIES = 10  # §4 PublishBatch entries
MAX_BATCH_ID_CHARS = 80  # §4 batch entry Id: up to 80 characters [A-Za-z0-9_-]
MAX_BATCH_BYTES = 262_144  # §4 total of all messages in a PublishBatch
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]*$")


class Subscriptions:
    """The subscriptions of one topic, in subscription order, with their confirmation tokens."""

    def __init__(self, topic: Topic) -> None:
        self.topic = topic
        self._by_arn: dict[str, Subscription] = {}
        self._by_endpoint: dict[tuple[str, str], Subscription] = {}
        self._tokens: dict[str, Subscription] = {}
        self._seq = 0
        self.deleted = 0

    def __iter__(self) -> Iterator[Subscription]:
        return iter(list(self._by_arn.values()))

    def __len__(self) -> int:
        return len(self._by_arn)

    def get(self, arn: str) -> Subscription | None:
        return self._by_arn.get(arn)

    def counts(self) -> tuple[int, int, int]:
        """(confirmed, pending, deleted), as GetTopicAttributes reports them."""
        confirmed = sum(1 for sub in self._by_arn.values() if sub.confirmed)
        return confirmed, len(self._by_arn) - confirmed, self.deleted

    # -- subscribe / confirm / unsubscribe --------------------------------------------------

    def subscribe(self, protocol: str, endpoint: str,
                  attributes: dict[str, str] | None = None) -> Subscription:
        """Subscribe (§3): validates the endpoint for the protocol; the same endpoint again returns
        the existing subscription unless a given attribute differs. HTTP/S start pending and get a
        SubscriptionConfirmation; the rest are confirmed at once."""
        topic = self.topic
        attributes = attributes or {}
        self._check_endpoint(protocol, endpoint)
        existing = self._by_endpoint.get((protocol, endpoint))
        if existing is not None:
            current = self.attributes(existing)
            if any(current.get(name) != value for name, value in attributes.items()):
                raise invalid_attribute("Subscription already exists with different attributes")
            if not existing.confirmed:
                self._send_confirmation(existing)
            return existing
        self._seq += 1
        owner = topic.mesh.account_id
        sub = Subscription(f"{topic.arn}:{topic.mesh.ids.uuid()}", topic.arn, protocol, endpoint, owner,
                           self._seq)
        if sub.is_http:
            topic.http_policy(sub)
        self._apply(sub, attributes, subscribing=True)
        self._by_arn[sub.arn] = sub
        self._by_endpoint[(protocol, endpoint)] = sub
        if sub.confirmed:
            topic.filters.add(sub)
        else:
            self._send_confirmation(sub)
        return sub

    def _check_endpoint(self, protocol: str, endpoint: str) -> None:
        topic = self.topic
        if protocol not in PROTOCOLS:
            raise invalid_parameter(f"Amazon SNS does not support this protocol string: {protocol}")
        if protocol == "sqs" and not endpoint.startswith("arn:"):
            raise invalid_parameter("SQS endpoint ARN")
        if protocol == "lambda" and ":lambda:" not in endpoint:
            raise invalid_parameter("Lambda endpoint ARN")
        if protocol in ("http", "https") and not endpoint.lower().startswith(f"{protocol}://"):
            raise invalid_parameter("Endpoint", "Endpoint must match the specified protocol")
        if topic.fifo and protocol != "sqs":
            raise invalid_parameter(f"Invalid protocol type: {protocol}")
        if not topic.fifo and protocol == "sqs" and endpoint.endswith(".fifo"):
            raise invalid_parameter("Invalid parameter: Endpoint",
                                    "FIFO SQS Queues can not be subscribed to standard SNS topics")

    def _send_confirmation(self, sub: Subscription) -> None:
        mesh = self.topic.mesh
        if sub.token is not None:
            self._tokens.pop(sub.token, None)
        sub.token = mesh.ids.token(CONFIRMATION_TOKEN_BYTES)
        sub.token_at = mesh.clock.now()
        self._tokens[sub.token] = sub
        mesh.emit(http_confirmation(self.topic, sub, "SubscriptionConfirmation", sub.token,
                                    mesh.ids.uuid(), sub.token_at))

    def confirm(self, token: str, authenticate_on_unsubscribe: bool = False) -> Subscription:
        """ConfirmSubscription: the token from the SubscriptionConfirmation, valid for 3 days."""
        sub = self._tokens.get(token)
        if sub is None or self.topic.mesh.clock.now() - sub.token_at > CONFIRMATION_TOKEN_TTL_S:
            raise invalid_parameter("Token")
        if not sub.confirmed:
            sub.confirmed = True
            self.topic.filters.add(sub)
        if authenticate_on_unsubscribe:
            sub.extra["ConfirmationWasAuthenticated"] = "true"
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Unsubscribe: deliveries stop, pending retries are dropped; HTTP/S endpoints are told."""
        if self._by_arn.pop(sub.arn, None) is None:
            return
        self._by_endpoint.pop((sub.protocol, sub.endpoint), None)
        if sub.token is not None:
            self._tokens.pop(sub.token, None)
        sub.active = False
        self.deleted += 1
        if sub.confirmed:
            self.topic.filters.remove(sub)
            if sub.is_http:
                mesh = self.topic.mesh
                mesh.emit(http_confirmation(self.topic, sub, "UnsubscribeConfirmation",
                                            mesh.ids.token(CONFIRMATION_TOKEN_BYTES), mesh.ids.uuid(),
                                            mesh.clock.now()))

    def close(self) -> None:
        for sub in self._by_arn.values():
            sub.active = False
        self._by_arn.clear()
        self._by_endpoint.clear()
        self._tokens.clear()

    def refresh_http_policies(self) -> None:
        """The topic's DeliveryPolicy changed: recompute every HTTP/S subscription's policy."""
        for sub in self._by_arn.values():
            if sub.is_http:
                self.topic.http_policy(sub)

    # -- attributes ------------------------------------------------------------------------

    def attributes(self, sub: Subscription) -> dict[str, str]:
        """GetSubscriptionAttributes (§3)."""
        out = {
            "ConfirmationWasAuthenticated": "true" if sub.confirmed and not sub.is_http else "false",
            "Endpoint": sub.endpoint,
            "Owner": sub.owner,
            "PendingConfirmation": "false" if sub.confirmed else "true",
            "Protocol": sub.protocol,
            "RawMessageDelivery": "true" if sub.raw else "false",
            "SubscriptionArn": sub.arn,
            "SubscriptionPrincipal": f"arn:aws:iam::{sub.owner}:root",
            "TopicArn": sub.topic_arn,
        }
        if sub.filter_policy is not None:
            out["FilterPolicy"] = sub.filter_policy
            out["FilterPolicyScope"] = sub.filter_scope
        if sub.is_http:
            out["EffectiveDeliveryPolicy"] = msgspec.json.encode({
                "healthyRetryPolicy": sub.retry, "sicklyRetryPolicy": None, "throttlePolicy": None,
                "guaranteed": False}).decode()
        out.update(sub.extra)
        return out

    def set_attribute(self, sub: Subscription, name: str, value: str) -> None:
        """SetSubscriptionAttributes: one attribute, validated as on Subscribe (§3, §6, §7)."""
        if name not in SETTABLE_SUBSCRIPTION_ATTRIBUTES:
            raise invalid_parameter("AttributeName")
        self._apply(sub, {name: value}, subscribing=False)

    def _apply(self, sub: Subscription, attributes: dict[str, str], *, subscribing: bool) -> None:
        """Validate every given attribute first, then change ``sub`` (all or nothing)."""
        for name in attributes:
            if name not in SETTABLE_SUBSCRIPTION_ATTRIBUTES:
                raise invalid_attribute(f"Unknown attribute {name}") if subscribing \
                    else invalid_parameter("AttributeName")
        raw = sub.raw
        if (value := attributes.get("RawMessageDelivery")) is not None:
            if value.lower() not in ("true", "false"):
                raise invalid_attribute(
                    f"RawMessageDelivery: Invalid value [{value}]. Must be true or false.")
            raw = value.lower() == "true"
            if raw and sub.protocol not in RAW_PROTOCOLS:
                raise invalid_attribute(
                    f"Delivery protocol [{sub.protocol}] does not support raw message delivery.")
        scope = attributes.get("FilterPolicyScope", sub.filter_scope)
        if scope not in FILTER_SCOPES:
            raise invalid_parameter(f"FilterPolicyScope: Invalid value [{scope}]. "
                                    "Please use either MessageBody or MessageAttributes")
        policy = attributes.get("FilterPolicy", sub.filter_policy)
        if policy == "":
            policy = None
        if policy is not None and ("FilterPolicy" in attributes or "FilterPolicyScope" in attributes):
            try:
                compile_filter_policy(policy, scope)
            except InvalidPatternError as exc:
                if exc.code == InternalError.code:  # SNS answers some out-of-range numbers so
                    raise InternalError(exc.message) from None
                raise InvalidParameter(exc.subscribe_message if subscribing else exc.message) from None
            if sub.filter_policy is None and self.topic.filters.policies >= MAX_FILTER_POLICIES_PER_TOPIC:
                raise FilterPolicyLimitExceeded("Filter policy limit exceeded")
        dlq_arn = sub.dlq_arn
        redrive = attributes.get("RedrivePolicy")
        if redrive is not None:
            dlq_arn = self._dead_letter_arn(sub, redrive) if redrive else None
        delivery = sub.delivery_policy
        if (text := attributes.get("DeliveryPolicy")) is not None:
            try:
                delivery = parse_subscription_delivery_policy(text) if text else None
            except ValueError as exc:
                raise invalid_parameter("DeliveryPolicy", str(exc)) from None
        # Everything is valid: change the subscription.
        refilter = (sub.confirmed and sub.arn in self._by_arn
                    and (policy != sub.filter_policy or scope != sub.filter_scope))
        if refilter:
            self.topic.filters.remove(sub)
        sub.raw, sub.filter_policy, sub.filter_scope = raw, policy, scope
        if refilter:
            self.topic.filters.add(sub)
        if redrive is not None:
            sub.redrive_policy, sub.dlq_arn = (redrive or None), dlq_arn
        if "DeliveryPolicy" in attributes:
            sub.delivery_policy = delivery
            if sub.is_http:
                self.topic.http_policy(sub)
        for name in ("DeliveryPolicy", "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"):
            if name in attributes:
                if attributes[name]:
                    sub.extra[name] = attributes[name]
                else:
                    sub.extra.pop(name, None)

    def _dead_letter_arn(self, sub: Subscription, text: str) -> str:
        """RedrivePolicy: an SQS queue ARN in the topic's account and Region (§7.1)."""
        try:
            policy = msgspec.json.decode(text)
        except msgspec.DecodeError:
            raise invalid_parameter("RedrivePolicy: Redrive policy is not a valid JSON") from None
        arn = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
        mesh = self.topic.mesh
        if not isinstance(arn, str) or not arn.startswith(f"arn:aws:sqs:{mesh.region}:{mesh.account_id}:") \
                or arn.count(":") != 5:
            raise invalid_parameter("RedrivePolicy: deadLetterTargetArn is an invalid arn")
        if self.topic.fifo and sub.endpoint.endswith(".fifo") and not arn.endswith(".fifo"):
            raise invalid_parameter(
                "RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic.")
        return arn


# -- account-wide operations ------------------------------------------------------------------


def create_topic(mesh: Mesh, name: str, attributes: dict[str, str] | None = None,
                 tags: dict[str, str] | None = None, base_url: str | None = None) -> Topic:
    """CreateTopic: idempotent for the same name, attributes and tags (§2)."""
    # Imported here: topic imports this module for Subscriptions.
    from eventmesh.services.sns.topic import Topic

    attributes = attributes or {}
    existing = mesh.find(mesh.arn("sns", name))
    if isinstance(existing, Topic):
        if not existing.same_attributes(attributes):
            raise invalid_attribute("Topic already exists with different attributes")
        if tags and tags != existing.tags:
            raise invalid_parameter("Tags", "Topic already exists with different tags")
        return existing
    if tags and len(tags) > MAX_TAGS_PER_RESOURCE:
        raise TagLimitExceeded("Could not complete request: tag quota of per resource exceeded")
    topic = Topic(mesh, name, attributes, tags, base_url)
    mesh.add(topic)
    return topic


def _check_arn(text: str, member: str) -> list[str]:
    parts = text.split(":")
    if len(parts) < 6:
        raise invalid_parameter(member, f"An ARN must have at least 6 elements, not {len(parts)}")
    if parts[0] != "arn" or parts[2] != "sns":
        raise invalid_parameter(member)
    return parts


def get_topic(mesh: Mesh, arn: str, member: str = "TopicArn") -> Topic:
    """The topic at ``arn``: a malformed ARN is InvalidParameter, a missing topic NotFound (§4)."""
    if len(_check_arn(arn, member)) != 6:
        raise invalid_parameter(member)
    topic = mesh.find(arn)
    if topic is None or not hasattr(topic, "subscriptions"):
        raise NotFound("Topic does not exist")
    return topic  # type: ignore[no-any-return]


def delete_topic(mesh: Mesh, arn: str) -> None:
    """DeleteTopic: idempotent; its subscriptions go with it (§2)."""
    if len(_check_arn(arn, "TopicArn")) != 6:
        raise invalid_parameter("TopicArn")
    if mesh.find(arn) is not None:
        mesh.remove(arn)


def _topics(mesh: Mesh) -> list[Topic]:
    return [t for t in mesh.resources("sns") if hasattr(t, "subscriptions")]


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
    """The subscription at ``arn`` and its topic, else NotFound ``Subscription does not exist``."""
    parts = _check_arn(arn, "SubscriptionArn")
    topic = mesh.find(":".join(parts[:6]))
    sub = topic.subscriptions.get(arn) if topic is not None and hasattr(topic, "subscriptions") else None
    if topic is None or sub is None:
        raise NotFound("Subscription does not exist")
    return topic, sub


def unsubscribe(mesh: Mesh, arn: str) -> None:
    """Unsubscribe: idempotent for an unknown but well-formed ARN (§3)."""
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
    """PublishBatch's whole-request checks (§4): 1–10 entries, distinct well-formed ids, 256 KB."""
    if not entries:
        raise EmptyBatchRequest("The batch request doesn't contain any entries.")
    if len(entries) > MAX_BATCH_ENTRIES:
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
    if sum(len(entry.message.encode()) for entry in entries) > MAX_BATCH_BYTES:
        raise BatchRequestTooLong("The length of all the messages put together is more than the limit.")


def _tagged(mesh: Mesh, arn: str) -> Topic:
    topic = mesh.find(arn)
    if topic is None or not hasattr(topic, "tags"):
        raise ResourceNotFound("Resource does not exist")
    return topic  # type: ignore[no-any-return]


def tag_resource(mesh: Mesh, arn: str, tags: dict[str, str]) -> None:
    topic = _tagged(mesh, arn)
    merged = {**topic.tags, **tags}
    if len(merged) > MAX_TAGS_PER_RESOURCE:
        raise TagLimitExceeded("Could not complete request: tag quota of per resource exceeded")
    topic.tags = merged


def untag_resource(mesh: Mesh, arn: str, keys: list[str]) -> None:
    topic = _tagged(mesh, arn)
    for key in keys:
        topic.tags.pop(key, None)


def list_tags(mesh: Mesh, arn: str) -> dict[str, str]:
    return dict(_tagged(mesh, arn).tags)
