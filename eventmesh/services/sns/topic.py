"""SNS topic core: subscriptions, publish validation, one-pass filtering and fan-out.

Everything that decides *who* gets a published message lives here; *how* it gets there (retries,
DLQ) lives in ``delivery.py``, *what* it looks like in ``records.py``, who is subscribed in
``subscriptions.py``. The core is synchronous: it validates, matches, and emits ``Deliver`` (SQS,
Lambda, Firehose) and ``HttpRequest`` effects.

Cost model: a publish parses its filter inputs once and matches them against every subscription's
filter policy in one pass of the pattern engine (O(fields of the message ∩ fields in policies),
not O(subscriptions)); the fan-out is O(matched subscriptions). One publish call yields one
``Deliver`` per SQS/Lambda subscription, carrying all its messages.
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
https://docs.aws.amazon.com/general/latest/gr/sns.html
https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html
https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html
https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from typing import Any, ClassVar

import msgspec

from eventmesh.effects import DELIVERED, Delivery, DeliveryResult
from eventmesh.errors import EntryError, ServiceError
from eventmesh.mesh import Mesh
from eventmesh.services.sns.delivery import (
    Dispatcher,
    Pending,
    Subscription,
    TopicDeliveryPolicy,
    effective_http_policy,
    effective_topic_policy,
    parse_topic_delivery_policy,
    shown_topic_policy,
)
from eventmesh.services.sns.errors import InvalidParameter, invalid_attribute, invalid_parameter
from eventmesh.services.sns.policy import check_data_protection_policy, check_policy, default_policy
from eventmesh.services.sns.records import (
    Message,
    attributes_size,
    http_notification,
    iso_timestamp,
    lambda_items,
    sqs_items,
    validate_message_attributes,
)
from eventmesh.services.sns.signing import Signer
from eventmesh.services.sns.subscriptions import FilterIndex, Subscriptions

__all__ = ["Topic", "PublishEntry", "PublishResult", "TopicStatistics", "MAX_MESSAGE_BYTES"]

MAX_MESSAGE_BYTES = 262_144  # message size (message + attributes), PublishBatch total
MAX_SUBJECT_CHARS = 99  # Subject: fewer than 100 characters
MAX_TOPIC_NAME_CHARS = 256  # topic name 1–256 characters
DEDUP_WINDOW_S = 300.0  # FIFO deduplication interval: 5 minutes
MAX_FIFO_ID_CHARS = 128  # MessageGroupId / MessageDeduplicationId: 1–128 characters
SQS_RAW_MAX_ATTRIBUTES = 10  # raw delivery to SQS carries at most 10 attributes (unverified)
FIFO_SEQUENCE_BASE = 10_000_000_000_000_000_000  # FIFO sequence numbers are 20-digit strings

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_FIFO_ID = re.compile(rf"^[\x21-\x7e]{{1,{MAX_FIFO_ID_CHARS}}}$")  # alphanumeric and punctuation
_TRACING = ("PassThrough", "Active")
_JSON_ATTRIBUTES = ("Policy", "DeliveryPolicy", "DataProtectionPolicy", "ArchivePolicy")
_FEEDBACK = tuple(f"{proto}{kind}" for proto in ("HTTP", "Firehose", "Lambda", "SQS", "Application")
                  for kind in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate",
                               "FailureFeedbackRoleArn"))
SETTABLE_TOPIC_ATTRIBUTES = frozenset({
    "DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "TracingConfig", "SignatureVersion",
    "ContentBasedDeduplication", "FifoThroughputScope", "ArchivePolicy", "DataProtectionPolicy",
    *_FEEDBACK,
})  # ; FifoTopic is settable only on CreateTopic


class PublishEntry(msgspec.Struct, kw_only=True):
    """One message to publish (Publish's members; ``id`` as in PublishBatchRequestEntry)."""

    message: str
    id: str = ""
    subject: str | None = None
    message_structure: str | None = None
    message_attributes: dict[str, dict[str, Any]] = {}
    message_deduplication_id: str | None = None
    message_group_id: str | None = None
    trace_header: str | None = None  # X-Amzn-Trace-Id of the Publish call, for SQS and Lambda


class PublishResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """PublishBatchResultEntry: ``sequence_number`` only for FIFO topics."""

    id: str
    message_id: str
    sequence_number: str | None = None


class TopicStatistics(msgspec.Struct, frozen=True):
    """The AWS/SNS CloudWatch metrics of one topic (dimension TopicName),. All are counters;
    ``cloudwatch_names`` spells the ones whose CloudWatch name has a dash."""

    number_of_messages_published: int
    number_of_notifications_delivered: int
    number_of_notifications_failed: int
    number_of_notifications_filtered_out: int
    number_of_notifications_filtered_out_message_attributes: int
    number_of_notifications_filtered_out_message_body: int
    number_of_notifications_filtered_out_invalid_attributes: int
    number_of_notifications_filtered_out_no_message_attributes: int
    number_of_notifications_filtered_out_invalid_message_body: int
    number_of_notifications_redriven_to_dlq: int
    number_of_notifications_failed_to_redrive_to_dlq: int
    publish_size: int

    counters: ClassVar[frozenset[str]] = frozenset({
        "number_of_messages_published", "number_of_notifications_delivered",
        "number_of_notifications_failed", "number_of_notifications_filtered_out",
        "number_of_notifications_filtered_out_message_attributes",
        "number_of_notifications_filtered_out_message_body",
        "number_of_notifications_filtered_out_invalid_attributes",
        "number_of_notifications_filtered_out_no_message_attributes",
        "number_of_notifications_filtered_out_invalid_message_body",
        "number_of_notifications_redriven_to_dlq", "number_of_notifications_failed_to_redrive_to_dlq",
        "publish_size",
    })
    units: ClassVar[dict[str, str]] = {"publish_size": "bytes"}
    cloudwatch_names: ClassVar[dict[str, str]] = {
        "number_of_notifications_filtered_out_message_attributes":
            "NumberOfNotificationsFilteredOut-MessageAttributes",
        "number_of_notifications_filtered_out_message_body": "NumberOfNotificationsFilteredOut-MessageBody",
        "number_of_notifications_filtered_out_invalid_attributes":
            "NumberOfNotificationsFilteredOut-InvalidAttributes",
        "number_of_notifications_filtered_out_no_message_attributes":
            "NumberOfNotificationsFilteredOut-NoMessageAttributes",
        "number_of_notifications_filtered_out_invalid_message_body":
            "NumberOfNotificationsFilteredOut-InvalidMessageBody",
    }


class Topic:
    """An SNS topic, standard or FIFO (name ending ``.fifo`` with ``FifoTopic=true``).

    https://docs.aws.amazon.com/sns/latest/dg/sns-create-topic.html
    """

    metric_namespace = "AWS/SNS"

    def __init__(self, mesh: Mesh, name: str, attributes: dict[str, str] | None = None,
                 tags: dict[str, str] | None = None, base_url: str | None = None) -> None:
        attributes = dict(attributes or {})
        fifo_attr = attributes.pop("FifoTopic", "false").lower()
        if not _valid_topic_name(name) or (fifo_attr == "true") != name.endswith(".fifo"):
            raise invalid_parameter("Topic Name")
        self.mesh = mesh
        self.name = name
        self.arn = mesh.arn("sns", name)
        self.ids = mesh.ids_for(self.arn)   # message ids: this topic's own random stream
        self.fifo = fifo_attr == "true"
        self.base_url = base_url or f"https://sns.{mesh.region}.amazonaws.com"
        self.signer = mesh.root.state(Signer)
        self.tags: dict[str, str] = dict(tags or {})
        self._set: dict[str, str] = {}  # attributes set by the user, verbatim
        self.content_based_dedup = False
        self.signature_version = "1"
        self.delivery_policy: TopicDeliveryPolicy | None = None
        self.filters = FilterIndex()
        self.dispatch = Dispatcher(mesh, self.arn, self._dlq_items, ordered=self.fifo)
        self.subscriptions = Subscriptions(self)
        self._sequence = 0
        self._dedup: dict[Any, tuple[float, str, str]] = {}
        self._dedup_expiry: deque[tuple[float, Any]] = deque()
        self._published = 0
        self._publish_size = 0
        for key, value in attributes.items():
            self.set_attribute(key, value, creating=True)

    # -- attributes --------------------------------------------------------------------------

    def set_attribute(self, name: str, value: str, *, creating: bool = False) -> None:
        """SetTopicAttributes / CreateTopic's Attributes."""
        if name == "FifoTopic" and creating:
            return
        if name not in SETTABLE_TOPIC_ATTRIBUTES:
            if creating:
                raise invalid_attribute(f"Unknown attribute {name}")
            raise invalid_parameter("AttributeName")
        if name == "DeliveryPolicy":
            try:
                policy = parse_topic_delivery_policy(value) if value else None
            except ValueError as exc:
                raise invalid_parameter("DeliveryPolicy", str(exc)) from None
            self.delivery_policy = policy
            self.subscriptions.refresh_http_policies()
            if not value:
                self._set.pop(name, None)
                return
            value = shown_topic_policy(value)
        elif name == "SignatureVersion":
            if value not in ("1", "2"):
                raise invalid_parameter("SignatureVersion")
            self.signature_version = value
        elif name == "TracingConfig" and value not in _TRACING:
            raise invalid_parameter("TracingConfig")
        elif name == "Policy" and value:
            check_policy(value)
        elif name == "DataProtectionPolicy" and value:
            check_data_protection_policy(value)
        elif name == "ContentBasedDeduplication":
            if not self.fifo:
                raise invalid_parameter("ContentBasedDeduplication",
                                        "Content-based deduplication can only be set for FIFO topics")
            if value.lower() not in ("true", "false"):
                raise invalid_parameter("ContentBasedDeduplication")
            self.content_based_dedup = value.lower() == "true"
            value = value.lower()
        elif name == "FifoThroughputScope":
            if not self.fifo or value not in ("Topic", "MessageGroup"):
                raise invalid_parameter("FifoThroughputScope")
            if self._set.get(name) == "MessageGroup" and value == "Topic":
                raise invalid_parameter("FifoThroughputScope", "Cannot change from MessageGroup to Topic")
        elif name.endswith("SampleRate") and not (value.isdigit() and 0 <= int(value) <= 100):
            raise invalid_parameter(name)
        self._set[name] = value

    def attributes(self) -> dict[str, str]:
        """GetTopicAttributes: the read-only attributes, then the ones set."""
        counts = self.subscriptions.counts()
        out = {
            "Policy": self.policy,
            "Owner": self.mesh.account_id,
            "SubscriptionsPending": str(counts[1]),
            "TopicArn": self.arn,
            "EffectiveDeliveryPolicy": effective_topic_policy(self.delivery_policy),
            "SubscriptionsConfirmed": str(counts[0]),
            "DisplayName": "",
            "SubscriptionsDeleted": str(counts[2]),
        }
        if self.fifo:
            out["FifoTopic"] = "true"
            out["ContentBasedDeduplication"] = "false"
        out.update(self._set)
        return out

    def same_attributes(self, attributes: dict[str, str]) -> bool:
        """CreateTopic idempotence: every given attribute equals the topic's (JSON documents
        compared as documents, booleans without case)."""
        current = self.attributes()
        current.setdefault("FifoTopic", "false")
        current.setdefault("ContentBasedDeduplication", "false")
        for name, value in attributes.items():
            have = current.get(name)
            if name in ("FifoTopic", "ContentBasedDeduplication"):
                if (have or "").lower() != value.lower():
                    return False
            elif name in _JSON_ATTRIBUTES and have and value:
                try:
                    wanted = shown_topic_policy(value) if name == "DeliveryPolicy" else value
                    if msgspec.json.decode(have) != msgspec.json.decode(wanted):
                        return False
                except msgspec.DecodeError:
                    return False
            elif (have or "") != value:
                return False
        return True

    @property
    def policy(self) -> str:
        """The topic's access policy (``Policy``): set, or the default one."""
        return self._set.get("Policy") or default_policy(self.arn, self.mesh.account_id)

    @policy.setter
    def policy(self, text: str) -> None:
        self._set["Policy"] = text

    @property
    def data_protection_policy(self) -> str:
        return self._set.get("DataProtectionPolicy", "")

    @data_protection_policy.setter
    def data_protection_policy(self, text: str) -> None:
        if text:
            check_data_protection_policy(text)
            self._set["DataProtectionPolicy"] = text
        else:
            self._set.pop("DataProtectionPolicy", None)

    def http_policy(self, sub: Subscription) -> None:
        """Recompute an HTTP/S subscription's effective retry policy and Content-Type."""
        sub.retry, sub.content_type = effective_http_policy(self.delivery_policy, sub.delivery_policy)

    # -- publish -----------------------------------------------------------------------------

    def publish(self, entry: PublishEntry) -> PublishResult:
        """Publish one message; invalid input raises (Publish)."""
        timestamp = iso_timestamp(self.mesh.clock.now())
        self._check_fifo_params([entry])
        message = self._admit(entry, *self._check(entry), timestamp)
        self._fan_out([message])
        return PublishResult(id=entry.id, message_id=message.message_id,
                             sequence_number=message.sequence_number)

    def publish_batch(self, entries: list[PublishEntry]) -> list[PublishResult | EntryError]:
        """PublishBatch after its batch checks (done by the service). As on AWS an invalid entry
        (message, subject, structure, attributes, FIFO ids) fails the whole request, before any
        entry is published."""
        timestamp = iso_timestamp(self.mesh.clock.now())
        self._check_fifo_params(entries)
        checked = [self._check(entry) for entry in entries]
        messages = [self._admit(entry, *parts, timestamp) for entry, parts in zip(entries, checked, strict=True)]
        self._fan_out(messages)
        return [PublishResult(id=entry.id, message_id=message.message_id, sequence_number=message.sequence_number)
                for entry, message in zip(entries, messages, strict=True)]

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        """Publish deliveries from other cores (EventBridge targets, Lambda destinations)."""
        entries = [PublishEntry(message=item.body, message_attributes=item.attributes,
                                message_group_id=item.group_id,
                                message_deduplication_id=item.deduplication_id,
                                trace_header=item.trace_header) for item in items]
        try:
            results = self.publish_batch(entries)
        except ServiceError as exc:
            return exc.delivery_result()
        for result in results:
            if isinstance(result, EntryError):
                return result.delivery_result()
        return DELIVERED

    def _check_fifo_params(self, entries: list[PublishEntry]) -> None:
        """FIFO parameter errors reject the whole request, as for Publish."""
        for entry in entries:
            if not self.fifo:
                if entry.message_deduplication_id is not None:
                    raise invalid_parameter(
                        "MessageDeduplicationId", "The request includes MessageDeduplicationId parameter "
                        "that is not valid for this topic type")
                if entry.message_group_id is not None and not _FIFO_ID.match(entry.message_group_id):
                    raise invalid_parameter("MessageGroupId")
                continue
            if entry.message_group_id is None:
                raise InvalidParameter(
                    "Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
            if not _FIFO_ID.match(entry.message_group_id):
                raise invalid_parameter("MessageGroupId")
            dedup = entry.message_deduplication_id
            if dedup is None and not self.content_based_dedup:
                raise InvalidParameter(
                    "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly")
            if dedup is not None and not _FIFO_ID.match(dedup):
                raise invalid_parameter("MessageDeduplicationId")

    def _check(self, entry: PublishEntry) -> tuple[str, dict[str, str] | None, int]:
        """Validate one entry: its text for the default protocol, per-protocol texts, its size."""
        text = entry.message
        if not text:
            raise invalid_parameter("Empty message")
        per_protocol = None
        if entry.message_structure is not None:
            per_protocol = _parse_structure(entry.message_structure, text)
            text = per_protocol["default"]
        subject = entry.subject
        if subject is not None and not _valid_subject(subject):
            raise invalid_parameter("Subject")
        attributes = entry.message_attributes
        if attributes:
            validate_message_attributes(attributes)
        size = len(entry.message.encode()) + (attributes_size(attributes) if attributes else 0)
        if size > MAX_MESSAGE_BYTES:
            raise invalid_parameter("Message too long")
        return text, per_protocol, size

    def _admit(self, entry: PublishEntry, text: str, per_protocol: dict[str, str] | None, size: int,
               timestamp: str) -> Message:
        """A checked entry becomes a Message; FIFO duplicates reuse the first's ids."""
        message = Message(self.ids.uuid(), text, per_protocol, entry.subject, entry.message_attributes,
                          timestamp, entry.message_group_id, trace_header=entry.trace_header)
        if self.fifo:
            if self._deduplicate(entry, message):
                return message
        self._published += 1
        self._publish_size += size
        return message

    def _deduplicate(self, entry: PublishEntry, message: Message) -> bool:
        """Assign FIFO dedup id and sequence number; True (and the first's ids) for a duplicate."""
        dedup = entry.message_deduplication_id or hashlib.sha256(entry.message.encode()).hexdigest()
        message.dedup_id = dedup
        now = self.mesh.clock.now()
        expiry = self._dedup_expiry
        while expiry and expiry[0][0] <= now:
            _, old = expiry.popleft()
            seen = self._dedup.get(old)
            if seen is not None and seen[0] <= now:
                del self._dedup[old]
        by_group = self._set.get("FifoThroughputScope") == "MessageGroup"
        key: Any = (message.group_id, dedup) if by_group else dedup
        seen = self._dedup.get(key)
        if seen is not None:
            message.message_id, message.sequence_number = seen[1], seen[2]
            message.duplicate = True
            return True
        self._sequence += 1
        message.sequence_number = f"{FIFO_SEQUENCE_BASE + self._sequence:020d}"
        self._dedup[key] = (now + DEDUP_WINDOW_S, message.message_id, message.sequence_number)
        expiry.append((now + DEDUP_WINDOW_S, key))
        return False

    # -- fan-out -----------------------------------------------------------------------------

    def _fan_out(self, messages: list[Message]) -> None:
        """Match each message once against every subscription, then one delivery per subscription."""
        targets: dict[Subscription, list[Message]] = {}
        filters = self.filters
        for message in messages:
            if message.duplicate:
                continue
            for sub in filters.match(message.text, message.attributes):
                targets.setdefault(sub, []).append(message)
        for sub, batch in targets.items():
            self._deliver(sub, batch)

    def _deliver(self, sub: Subscription, messages: list[Message]) -> None:
        protocol = sub.protocol
        send = self.dispatch.submit
        if sub.is_http:
            for message in messages:
                send(Pending(sub, [message], None, http_notification(self, sub, message)))
        elif protocol == "lambda":
            send(Pending(sub, messages, lambda_items(self, sub, messages), None))
        elif protocol in ("sqs", "firehose"):
            rejected = [m for m in messages if len(m.attributes) > SQS_RAW_MAX_ATTRIBUTES] \
                if sub.raw and protocol == "sqs" else None
            if rejected:
                self.dispatch.reject(Pending(sub, rejected, None, None))
                messages = [m for m in messages if len(m.attributes) <= SQS_RAW_MAX_ATTRIBUTES]
                if not messages:
                    return
            send(Pending(sub, messages, sqs_items(self, sub, messages, sub.endpoint), None))
        # email, email-json, sms and application endpoints are accepted but not delivered to.

    def _dlq_items(self, sub: Subscription, messages: list[Message]) -> list[Delivery]:
        assert sub.dlq_arn is not None
        return sqs_items(self, sub, messages, sub.dlq_arn)

    # -- lifecycle and metrics ---------------------------------------------------------------

    def statistics(self) -> TopicStatistics:
        f = self.filters
        d = self.dispatch
        return TopicStatistics(
            number_of_messages_published=self._published,
            number_of_notifications_delivered=d.delivered,
            number_of_notifications_failed=d.failed,
            number_of_notifications_filtered_out=(
                f.out_attributes + f.out_body + f.out_invalid_attributes + f.out_no_attributes
                + f.out_invalid_body),
            number_of_notifications_filtered_out_message_attributes=f.out_attributes,
            number_of_notifications_filtered_out_message_body=f.out_body,
            number_of_notifications_filtered_out_invalid_attributes=f.out_invalid_attributes,
            number_of_notifications_filtered_out_no_message_attributes=f.out_no_attributes,
            number_of_notifications_filtered_out_invalid_message_body=f.out_invalid_body,
            number_of_notifications_redriven_to_dlq=d.redriven_to_dlq,
            number_of_notifications_failed_to_redrive_to_dlq=d.failed_to_redrive_to_dlq,
            publish_size=self._publish_size,
        )

    def metric_dimensions(self) -> dict[str, str]:
        return {"TopicName": self.name}

    def close(self) -> None:
        """DeleteTopic: its subscriptions go, and so do their pending retries."""
        self.subscriptions.close()
        self.dispatch.close()


def _valid_topic_name(name: str) -> bool:
    base = name[:-5] if name.endswith(".fifo") else name
    return len(name) <= MAX_TOPIC_NAME_CHARS and _TOPIC_NAME.match(base) is not None


def _valid_subject(subject: str) -> bool:
    return 0 < len(subject) <= MAX_SUBJECT_CHARS and all(" " <= c <= "~" for c in subject)


def _parse_structure(structure: str, text: str) -> dict[str, str]:
    """MessageStructure=json: an object with a string ``default`` and per-protocol overrides."""
    if structure != "json":
        raise invalid_parameter("MessageStructure")
    try:
        parsed = msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise invalid_parameter("Message Structure - JSON message body failed to parse") from None
    if not isinstance(parsed, dict):
        raise invalid_parameter("Message Structure - JSON message body failed to parse")
    if not isinstance(parsed.get("default"), str):
        raise invalid_parameter("Message Structure - No default entry in JSON message body")
    return {k: v for k, v in parsed.items() if isinstance(v, str)}
