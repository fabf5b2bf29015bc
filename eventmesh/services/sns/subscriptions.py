"""SNS subscriptions of one topic: subscribe, confirm, unsubscribe, attributes, and the filter index.

Everything that decides whether a subscription exists, is confirmed, with which attributes, and
which confirmed subscriptions a message reaches lives here. A subscription's ARN is its topic's
ARN plus ``:<uuid>``; HTTP/S endpoints start pending until they confirm with the token SNS POSTs
to them (valid 3 days).
https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html

Cost model of :class:`FilterIndex`: a message is matched once against every filter policy of a
scope by the pattern engine (O(fields of the message ∩ fields in policies), not O(subscriptions)).
https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

import msgspec

from eventmesh.effects import Deliver, Delivery
from eventmesh.mesh import Mesh
from eventmesh.patterns import InvalidPatternError, RuleSet, compile_filter_policy
from eventmesh.services.sns.delivery import (
    Subscription,
    TopicDeliveryPolicy,
    effective_subscription_policy,
    parse_subscription_delivery_policy,
    shown_subscription_policy,
)
from eventmesh.services.sns.errors import (
    FilterPolicyLimitExceeded,
    InternalError,
    InvalidParameter,
    invalid_attribute,
    invalid_parameter,
)
from eventmesh.services.sns.platform import PlatformRegistry
from eventmesh.services.sns.records import TopicView as RecordsTopicView
from eventmesh.services.sns.records import confirmation_body, http_confirmation

__all__ = ["ATTRIBUTES_SCOPE", "BODY_SCOPE", "FilterIndex", "Subscriptions", "TopicView",
           "new_rule_set"]

PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
# Endpoints their owner confirms (the token goes to the endpoint): pending until ConfirmSubscription.
CONFIRMED_BY_ENDPOINT = ("http", "https", "email", "email-json")
# An SMS endpoint: digits with an optional leading +, single . / - separators between digits.
_SMS_ENDPOINT = re.compile(r"^\+?[0-9]+(?:[./-][0-9]+)*$")
RAW_PROTOCOLS = ("sqs", "http", "https", "firehose")  # RawMessageDelivery applies to these only
FILTER_SCOPES = ("MessageAttributes", "MessageBody")  # FilterPolicyScope
SETTABLE_SUBSCRIPTION_ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope",
                                    "RawMessageDelivery", "RedrivePolicy", "SubscriptionRoleArn",
                                    "ReplayPolicy")
CONFIRMATION_TOKEN_TTL_S = 3 * 86_400.0  # confirmation tokens expire after 3 days (unverified)
CONFIRMATION_TOKEN_BYTES = 64
MAX_FILTER_POLICIES_PER_TOPIC = 200  # filter policies per topic
ATTRIBUTES_SCOPE = "MessageAttributes"  # FilterPolicyScope values (the first is the default)
BODY_SCOPE = "MessageBody"


class TopicView(RecordsTopicView, Protocol):
    """What the subscriptions need of their topic."""

    mesh: Mesh
    filters: FilterIndex
    delivery_policy: TopicDeliveryPolicy | None

    def http_policy(self, sub: Subscription) -> None: ...


class FilterIndex:
    """The confirmed subscriptions of a topic, indexed for one-pass matching.

    Subscriptions without a filter policy always match; the others sit in one compiled rule set
    per scope (message attributes / message body), so a message is matched once against all of
    them. Also counts what the filters turn away, by the CloudWatch kind.
    """

    __slots__ = ("_plain", "_filtered", "_rules", "_counts", "out_attributes", "out_body",
                 "out_invalid_attributes", "out_no_attributes", "out_invalid_body")

    def __init__(self) -> None:
        self._plain: dict[Subscription, None] = {}  # an ordered set
        self._filtered: dict[str, Subscription] = {}
        self._rules: dict[str, RuleSet] = {}
        self._counts = {ATTRIBUTES_SCOPE: 0, BODY_SCOPE: 0}
        self.out_attributes = self.out_body = self.out_invalid_attributes = 0
        self.out_no_attributes = self.out_invalid_body = 0

    def __len__(self) -> int:
        return len(self._plain) + len(self._filtered)

    @property
    def policies(self) -> int:
        return len(self._filtered)

    def add(self, sub: Subscription) -> None:
        if sub.filter_policy is None:
            self._plain[sub] = None
            return
        rules = self._rules.get(sub.filter_scope)
        if rules is None:
            rules = self._rules[sub.filter_scope] = new_rule_set(sub.filter_scope)
        rules.add(sub.arn, sub.filter_policy)
        self._filtered[sub.arn] = sub
        self._counts[sub.filter_scope] += 1

    def remove(self, sub: Subscription) -> None:
        if self._plain.pop(sub, 1) is None:
            return
        if self._filtered.pop(sub.arn, None) is not None:
            self._rules[sub.filter_scope].remove(sub.arn)
            self._counts[sub.filter_scope] -= 1

    def match(self, body: str, attributes: dict[str, dict[str, Any]]) -> list[Subscription]:
        """Subscriptions that take this message, in subscription order. O(fields), not O(rules)."""
        if not self._filtered:
            return list(self._plain)
        names: set[Any] = set()
        if n := self._counts[ATTRIBUTES_SCOPE]:
            try:
                hits = self._rules[ATTRIBUTES_SCOPE].matches(attributes=attributes)
            except ValueError:
                self.out_invalid_attributes += n
            else:
                names |= hits
                if attributes:
                    self.out_attributes += n - len(hits)
                else:
                    self.out_no_attributes += n - len(hits)
        if n := self._counts[BODY_SCOPE]:
            hits = self._rules[BODY_SCOPE].matches(body=body)
            names |= hits
            if n > len(hits):
                if _is_json_object(body):
                    self.out_body += n - len(hits)
                else:
                    self.out_invalid_body += n - len(hits)
        filtered = self._filtered
        matched = [*self._plain, *(filtered[name] for name in names)]
        if names and len(matched) > 1:
            matched.sort(key=_by_seq)
        return matched


def new_rule_set(scope: str) -> RuleSet:
    """One SNS-flavoured rule set for filter policies of ``scope``."""
    return RuleSet(flavor="sns", scope=scope)


def _by_seq(sub: Subscription) -> int:
    return sub.seq


def _same_json(given: str | None, have: str | None) -> bool:
    """Two optional JSON documents, equal as documents (or as text when one does not parse)."""
    if given is None or have is None:
        return given == have
    try:
        return bool(msgspec.json.decode(given) == msgspec.json.decode(have))
    except msgspec.DecodeError:
        return given == have


def _is_json_object(text: str) -> bool:
    if not text.lstrip().startswith("{"):
        return False
    try:
        return isinstance(msgspec.json.decode(text), dict)
    except msgspec.DecodeError:
        return False


class Subscriptions:
    """The subscriptions of one topic, in subscription order, with their confirmation tokens."""

    def __init__(self, topic: TopicView) -> None:
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
        """Subscribe: validates the endpoint for the protocol; the same endpoint again returns the
        existing subscription unless a given attribute differs from its value (an attribute left
        out, or given at its default, is no difference). HTTP/S, email and an SQS queue of another
        account start pending and get a SubscriptionConfirmation; the rest are confirmed at once."""
        topic = self.topic
        attributes = attributes or {}
        self._check_endpoint(protocol, endpoint)
        existing = self._by_endpoint.get((protocol, endpoint))
        if existing is not None:
            if not self._same(existing, attributes):
                raise invalid_attribute("Subscription already exists with different attributes")
            if not existing.confirmed:
                self._send_confirmation(existing)
            return existing
        self._seq += 1
        owner = topic.mesh.account_id
        sub = Subscription(f"{topic.arn}:{topic.mesh.ids.uuid()}", topic.arn, protocol, endpoint, owner,
                           self._seq)
        sub.confirmed = not self._needs_confirmation(protocol, endpoint)
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

    def _needs_confirmation(self, protocol: str, endpoint: str) -> bool:
        if protocol in CONFIRMED_BY_ENDPOINT:
            return True
        parts = endpoint.split(":")
        return protocol == "sqs" and len(parts) == 6 and parts[4] != self.topic.mesh.account_id

    def _same(self, sub: Subscription, attributes: dict[str, str]) -> bool:
        """Subscribe idempotence: every given attribute has the subscription's value."""
        for name, value in attributes.items():
            if name == "RawMessageDelivery":
                if value.lower() != ("true" if sub.raw else "false"):
                    return False
            elif name == "FilterPolicyScope":
                if value != sub.filter_scope:
                    return False
            elif name == "FilterPolicy":
                if not _same_json(value or None, sub.filter_policy):
                    return False
            elif name in ("DeliveryPolicy", "RedrivePolicy", "ReplayPolicy"):
                if not _same_json(value or None, sub.extra.get(name)):
                    return False
            elif value != sub.extra.get(name, ""):
                return False
        return True

    def _check_endpoint(self, protocol: str, endpoint: str) -> None:
        topic = self.topic
        if protocol not in PROTOCOLS:
            raise invalid_parameter(f"Amazon SNS does not support this protocol string: {protocol}")
        if protocol == "sqs" and (not endpoint.startswith("arn:") or len(endpoint.split(":")) != 6):
            raise invalid_parameter("SQS endpoint ARN")
        if protocol == "sms" and not _SMS_ENDPOINT.match(endpoint):
            raise InvalidParameter(f"Invalid SMS endpoint: {endpoint}")
        if protocol == "application":
            topic.mesh.state(PlatformRegistry).check_subscribable(endpoint)
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
        """A new token, sent where the endpoint's owner reads it: POSTed to HTTP/S, put on an SQS
        queue of another account; email is not delivered (ConfirmSubscription takes the token)."""
        mesh = self.topic.mesh
        if sub.token is not None:
            self._tokens.pop(sub.token, None)
        sub.token = mesh.ids.token(CONFIRMATION_TOKEN_BYTES)
        sub.token_at = mesh.clock.now()
        self._tokens[sub.token] = sub
        kind = "SubscriptionConfirmation"
        if sub.is_http:
            mesh.emit(http_confirmation(self.topic, sub, kind, sub.token, mesh.ids.uuid(), sub.token_at))
        elif sub.protocol == "sqs":
            body = confirmation_body(self.topic, sub, kind, sub.token, mesh.ids.uuid(), sub.token_at)
            mesh.emit(Deliver(sub.endpoint, [Delivery(body)], self.topic.arn))

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
        """GetSubscriptionAttributes."""
        out = {
            # confirmed at Subscribe (no token ever sent) is authenticated; by token it is not,
            # unless ConfirmSubscription asked for AuthenticateOnUnsubscribe
            "ConfirmationWasAuthenticated": "true" if sub.confirmed and sub.token is None else "false",
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
        out.update(sub.extra)
        if (text := sub.extra.get("DeliveryPolicy")) is not None:
            out["DeliveryPolicy"] = shown_subscription_policy(text)
        if sub.is_http:
            out["EffectiveDeliveryPolicy"] = effective_subscription_policy(
                self.topic.delivery_policy, sub.delivery_policy, sub.retry, sub.content_type)
        return dict(sorted(out.items()))

    def set_attribute(self, sub: Subscription, name: str, value: str) -> None:
        """SetSubscriptionAttributes: one attribute, validated as on Subscribe."""
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
        """RedrivePolicy: an SQS queue ARN in the topic's account and Region."""
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
