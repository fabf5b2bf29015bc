"""What SNS hands to its targets, and the message-attribute rules.

* :class:`Notification` — the JSON envelope for SQS (non-raw), HTTP/S and the subscription DLQ:
  keys in AWS's order, ``Subject`` and ``MessageAttributes`` omitted when absent, FIFO
  envelopes carry ``SequenceNumber`` and no signature fields.
* :class:`SnsEvent` — the Lambda event, one record per invocation: ``SigningCertUrl`` /
  ``UnsubscribeUrl`` spellings, ``Subject`` null and ``MessageAttributes`` ``{}`` when absent.
* :class:`ConfirmationMessage` — ``SubscriptionConfirmation`` / ``UnsubscribeConfirmation`` bodies.

Signatures: the canonical string is built exactly as AWS builds it and signed by the mesh's
:class:`~eventmesh.services.sns.signing.Signer` (SHA1withRSA for v1, SHA256withRSA for v2, with a
certificate served at ``SigningCertURL``), once per message and signature version. Lambda records
always say ``SignatureVersion`` "1" but are signed with the topic's version, as AWS does.

Message attributes are kept in the API's shape, ``{"Name": {"DataType": "String",
"StringValue": "v"}}`` (``BinaryValue`` as bytes), which is also the SQS shape raw delivery needs.
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import msgspec

from eventmesh.effects import Delivery, HttpRequest
from eventmesh.services.sns.delivery import NOTIFICATION_CONTENT_TYPE, NOTIFICATION_TIMEOUT_S, Subscription
from eventmesh.services.sns.errors import ParameterValueInvalid, ValidationError
from eventmesh.services.sns.signing import Signer

__all__ = [
    "TopicView",
    "ConfirmationMessage",
    "EnvelopeAttribute",
    "Notification",
    "SnsEntity",
    "SnsEvent",
    "SnsEventRecord",
    "attributes_size",
    "confirmation_canonical",
    "encode",
    "envelope_attributes",
    "iso_timestamp",
    "lambda_attributes",
    "notification_canonical",
    "confirmation_body",
    "sqs_attributes",
    "validate_message_attributes",
]

LAMBDA_EVENT_VERSION = "1.0"
LAMBDA_EVENT_SOURCE = "aws:sns"
LAMBDA_SIGNATURE_VERSION = "1"  # what a Lambda record says, whatever the topic signs with
# per the docs Number and String.Array attributes reach Lambda as "String" (unverified).
LAMBDA_ATTRIBUTE_TYPES_AS_STRING = True
USER_AGENT = "Amazon Simple Notification Service Agent"  # HTTP/S User-Agent

MAX_ATTRIBUTE_NAME_CHARS = 256  # message attribute name length
MAX_NUMBER_ABS = Decimal(10) ** 9  # Number attributes: ±10^9
MAX_NUMBER_DECIMALS = 5  # Number attributes: 5 decimal places
_ATTRIBUTE_TYPE = re.compile(r"^(String|Number|Binary)(\..+)?$")  # "String.  x." is fine, "String." not
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
_RESERVED_PREFIXES = ("aws.", "amazon.")

_ENVELOPE_NAMES = {"signing_cert_url": "SigningCertURL", "unsubscribe_url": "UnsubscribeURL",
                   "subscribe_url": "SubscribeURL"}


class TopicView(Protocol):
    """What a record needs of the topic it comes from."""

    arn: str
    base_url: str
    fifo: bool
    signature_version: str
    signer: Signer


def _pascal(name: str) -> str:
    return _ENVELOPE_NAMES.get(name) or "".join(p[:1].upper() + p[1:] for p in name.split("_"))


class EnvelopeAttribute(msgspec.Struct, rename="pascal"):
    """A message attribute inside an envelope: ``{"Type": "String", "Value": "red"}``."""

    type: str
    value: str


class Notification(msgspec.Struct, kw_only=True, omit_defaults=True, rename=_pascal):
    """The SNS JSON envelope (``Type: Notification``), sns-message-and-json-formats.html."""

    type: str
    message_id: str
    sequence_number: str | None = None
    topic_arn: str
    subject: str | None = None
    message: str
    timestamp: str
    signature_version: str | None = None
    signature: str | None = None
    signing_cert_url: str | None = None
    unsubscribe_url: str
    message_attributes: dict[str, EnvelopeAttribute] | None = None


class ConfirmationMessage(msgspec.Struct, kw_only=True, omit_defaults=True, rename=_pascal):
    """``SubscriptionConfirmation`` / ``UnsubscribeConfirmation`` body POSTed to HTTP/S endpoints."""

    type: str
    message_id: str
    token: str
    topic_arn: str
    message: str
    subscribe_url: str
    timestamp: str
    signature_version: str | None = None
    signature: str | None = None
    signing_cert_url: str | None = None


class SnsEntity(msgspec.Struct, kw_only=True, rename="pascal"):
    """The ``Sns`` member of a Lambda SNS record (aws-lambda-go ``SNSEntity``)."""

    type: str
    message_id: str
    topic_arn: str
    subject: str | None
    message: str
    timestamp: str
    signature_version: str
    signature: str
    signing_cert_url: str
    unsubscribe_url: str
    message_attributes: dict[str, EnvelopeAttribute]


class SnsEventRecord(msgspec.Struct, kw_only=True, rename="pascal"):
    """One record of the Lambda SNS event (``EventSource: aws:sns``)."""

    event_source: str
    event_version: str
    event_subscription_arn: str
    sns: SnsEntity


class SnsEvent(msgspec.Struct, rename="pascal"):
    """The Lambda event SNS invokes a function with: always exactly one record."""

    records: list[SnsEventRecord]


_encoder = msgspec.json.Encoder()


def encode(payload: msgspec.Struct) -> str:
    return _encoder.encode(payload).decode()


def iso_timestamp(at: float) -> str:
    """ISO-8601 UTC with milliseconds, as in every SNS payload: ``2012-05-02T00:54:06.655Z``."""
    millis = int(at * 1000)
    when = datetime.fromtimestamp(millis // 1000, UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"


def signing_cert_url(topic: TopicView) -> str:
    return f"{topic.base_url}/{topic.signer.cert_name}"


def notification_canonical(message: str, message_id: str, subject: str | None, timestamp: str,
                           topic_arn: str, kind: str = "Notification") -> str:
    """The string SNS signs for a notification (``Key\\nValue\\n`` in this order)."""
    parts = ["Message", message, "MessageId", message_id]
    if subject is not None:
        parts += ["Subject", subject]
    parts += ["Timestamp", timestamp, "TopicArn", topic_arn, "Type", kind]
    return "\n".join(parts) + "\n"


def confirmation_canonical(message: str, message_id: str, subscribe_url: str, timestamp: str,
                           token: str, topic_arn: str, kind: str) -> str:
    """The string SNS signs for (un)subscribe confirmations."""
    parts = ["Message", message, "MessageId", message_id, "SubscribeURL", subscribe_url,
             "Timestamp", timestamp, "Token", token, "TopicArn", topic_arn, "Type", kind]
    return "\n".join(parts) + "\n"


def _value_text(value: dict[str, Any]) -> str:
    if "BinaryValue" in value and value["BinaryValue"] is not None:
        binary = value["BinaryValue"]
        return base64.b64encode(binary).decode() if isinstance(binary, bytes | bytearray) else str(binary)
    return str(value.get("StringValue", ""))


def envelope_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, EnvelopeAttribute] | None:
    """Attributes as the JSON envelope shows them (binary values base64); None when there are none."""
    if not attributes:
        return None
    return {name: EnvelopeAttribute(value["DataType"], _value_text(value))
            for name, value in attributes.items()}


def lambda_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, EnvelopeAttribute]:
    """Attributes as the Lambda record shows them: ``{}`` when none; Number/String.Array as String."""
    out: dict[str, EnvelopeAttribute] = {}
    for name, value in attributes.items():
        kind = value["DataType"]
        if LAMBDA_ATTRIBUTE_TYPES_AS_STRING and not kind.startswith("Binary"):
            kind = "String"
        out[name] = EnvelopeAttribute(kind, _value_text(value))
    return out


def sqs_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Raw delivery: SNS attributes become SQS MessageAttributes (same member names)."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        if value.get("BinaryValue") is not None:
            out[name] = {"DataType": value["DataType"], "BinaryValue": value["BinaryValue"]}
        else:
            out[name] = {"DataType": value["DataType"], "StringValue": value.get("StringValue", "")}
    return out


def attributes_size(attributes: dict[str, dict[str, Any]]) -> int:
    """Bytes the attributes add to the 256 KB message limit: names, types and values."""
    size = 0
    for name, value in attributes.items():
        size += len(name.encode()) + len(value.get("DataType", "").encode())
        binary = value.get("BinaryValue")
        if binary is not None:
            size += len(binary) if isinstance(binary, bytes | bytearray) else len(str(binary).encode())
        else:
            size += len(str(value.get("StringValue") or "").encode())
    return size


# -- payloads per target kind ----------------------------------------------------------------


class Message(msgspec.Struct):
    """A published message as the topic keeps it while delivering (same MessageId on retries)."""

    message_id: str
    text: str
    per_protocol: dict[str, str] | None  # MessageStructure=json: overrides by protocol
    subject: str | None
    attributes: dict[str, dict[str, Any]]
    timestamp: str
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    duplicate: bool = False  # FIFO: seen within the deduplication window, not delivered again
    signature: str | None = None  # of ``text`` with the topic's version, computed on first need
    trace_header: str | None = None  # the publisher's X-Ray trace header, passed to SQS and Lambda

    def text_for(self, protocol: str) -> str:
        if self.per_protocol is None:
            return self.text
        return self.per_protocol.get(protocol, self.text)


def _signature(topic: TopicView, message: Message, text: str, version: str) -> str:
    cacheable = text is message.text and version == topic.signature_version
    if cacheable and message.signature is not None:
        return message.signature
    signature = topic.signer.sign(notification_canonical(text, message.message_id, message.subject,
                                                         message.timestamp, topic.arn), version)
    if cacheable:
        message.signature = signature
    return signature


def _unsubscribe_url(topic: TopicView, sub: Subscription) -> str:
    return f"{topic.base_url}/?Action=Unsubscribe&SubscriptionArn={sub.arn}"


def notification_body(topic: TopicView, sub: Subscription, message: Message, protocol: str) -> str:
    """The JSON envelope; FIFO topics add SequenceNumber and drop the signature fields.
    Attributes travel only with the plain message structure."""
    text = message.text_for(protocol)
    attributes = envelope_attributes(message.attributes) if message.per_protocol is None else None
    if topic.fifo:
        return encode(Notification(
            type="Notification", message_id=message.message_id, sequence_number=message.sequence_number,
            topic_arn=topic.arn, subject=message.subject, message=text, timestamp=message.timestamp,
            unsubscribe_url=_unsubscribe_url(topic, sub), message_attributes=attributes))
    version = topic.signature_version
    return encode(Notification(
        type="Notification", message_id=message.message_id, topic_arn=topic.arn,
        subject=message.subject, message=text, timestamp=message.timestamp, signature_version=version,
        signature=_signature(topic, message, text, version),
        signing_cert_url=signing_cert_url(topic),
        unsubscribe_url=_unsubscribe_url(topic, sub), message_attributes=attributes))


def sqs_items(topic: TopicView, sub: Subscription, messages: list[Message], queue_arn: str) -> list[Delivery]:
    """What the SQS queue at ``queue_arn`` (the endpoint, or the subscription DLQ) receives: the
    envelope, or with raw delivery the message itself with its attributes as SQS attributes.
    The group id is carried over; the dedup id only to a FIFO queue, since a
    standard queue rejects one (a FIFO topic may feed standard queues)."""
    protocol = "sqs" if sub.protocol == "lambda" else sub.protocol
    fifo = queue_arn.endswith(".fifo")
    if sub.raw:
        return [Delivery(m.text_for(protocol), sqs_attributes(m.attributes) if m.attributes else {},
                         m.group_id, m.dedup_id if fifo else None, trace_header=m.trace_header)
                for m in messages]
    return [Delivery(notification_body(topic, sub, m, protocol), {}, m.group_id, m.dedup_id if fifo else None,
                     trace_header=m.trace_header, json_text=True) for m in messages]


def lambda_items(topic: TopicView, sub: Subscription, messages: list[Message]) -> list[Delivery]:
    """One Lambda event per message, each with exactly one record. The record says SignatureVersion
    "1" whatever the topic's version, but is signed with the topic's version (as AWS does)."""
    out = []
    for message in messages:
        text = message.text_for("lambda")
        entity = SnsEntity(
            type="Notification", message_id=message.message_id, topic_arn=topic.arn,
            subject=message.subject, message=text, timestamp=message.timestamp,
            signature_version=LAMBDA_SIGNATURE_VERSION,
            signature=_signature(topic, message, text, topic.signature_version),
            signing_cert_url=signing_cert_url(topic),
            unsubscribe_url=_unsubscribe_url(topic, sub),
            message_attributes=lambda_attributes(message.attributes) if message.per_protocol is None else {})
        out.append(Delivery(encode(SnsEvent([SnsEventRecord(
            event_source=LAMBDA_EVENT_SOURCE, event_version=LAMBDA_EVENT_VERSION,
            event_subscription_arn=sub.arn, sns=entity)])), trace_header=message.trace_header))
    return out


def http_notification(topic: TopicView, sub: Subscription, message: Message) -> HttpRequest:
    """The POST for one notification to an HTTP/S endpoint: envelope, or raw body without attributes."""
    headers = {
        "Content-Type": sub.content_type or NOTIFICATION_CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": message.message_id,
        "x-amz-sns-topic-arn": topic.arn,
        "x-amz-sns-subscription-arn": sub.arn,
    }
    if sub.raw:
        headers["x-amz-sns-rawdelivery"] = "true"
        return HttpRequest(sub.endpoint, "POST", headers, message.text_for(sub.protocol), NOTIFICATION_TIMEOUT_S)
    return HttpRequest(sub.endpoint, "POST", headers, notification_body(topic, sub, message, sub.protocol),
                       NOTIFICATION_TIMEOUT_S)


def confirmation_body(topic: TopicView, sub: Subscription, kind: str, token: str, message_id: str,
                      at: float) -> str:
    """The signed ``SubscriptionConfirmation`` / ``UnsubscribeConfirmation`` JSON document."""
    timestamp = iso_timestamp(at)
    url = f"{topic.base_url}/?Action=ConfirmSubscription&TopicArn={topic.arn}&Token={token}"
    if kind == "SubscriptionConfirmation":
        text = (f"You have chosen to subscribe to the topic {topic.arn}.\n"
                "To confirm the subscription, visit the SubscribeURL included in this message.")
    else:
        text = (f"You have chosen to deactivate subscription {sub.arn}.\nTo cancel this operation "
                "and restore the subscription, visit the SubscribeURL included in this message.")
    version = topic.signature_version
    canonical = confirmation_canonical(text, message_id, url, timestamp, token, topic.arn, kind)
    return encode(ConfirmationMessage(
        type=kind, message_id=message_id, token=token, topic_arn=topic.arn, message=text,
        subscribe_url=url, timestamp=timestamp, signature_version=version,
        signature=topic.signer.sign(canonical, version), signing_cert_url=signing_cert_url(topic)))


def http_confirmation(topic: TopicView, sub: Subscription, kind: str, token: str, message_id: str,
                      at: float) -> HttpRequest:
    """The SubscriptionConfirmation / UnsubscribeConfirmation POST; never raw."""
    body = confirmation_body(topic, sub, kind, token, message_id, at)
    headers = {"Content-Type": NOTIFICATION_CONTENT_TYPE, "User-Agent": USER_AGENT,
               "x-amz-sns-message-type": kind, "x-amz-sns-message-id": message_id,
               "x-amz-sns-topic-arn": topic.arn}
    if kind != "SubscriptionConfirmation":
        headers["x-amz-sns-subscription-arn"] = sub.arn
    return HttpRequest(sub.endpoint, "POST", headers, body, NOTIFICATION_TIMEOUT_S)


# -- message attribute rules ---------------------------------------------------------------


def _check_name(name: str) -> None:
    bad = _NAME_CHARS.search(name)
    if bad is not None:
        raise ParameterValueInvalid(
            f"Invalid non-alphanumeric character '#x{ord(bad.group()):X}' was found in the message "
            "attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.")
    # UTF-8 takes at most 4 bytes a character: short names skip the encode (a hot path).
    if len(name) * 4 > MAX_ATTRIBUTE_NAME_CHARS and len(name.encode()) > MAX_ATTRIBUTE_NAME_CHARS:
        raise ParameterValueInvalid(
            f"Length of message attribute name must be less than {MAX_ATTRIBUTE_NAME_CHARS} bytes.")
    if not name:
        raise ParameterValueInvalid("The message attribute name must not be empty.")
    if name.startswith("."):
        raise ParameterValueInvalid("Invalid message attribute name starting with character '.' was found.")
    if name.endswith("."):
        raise ParameterValueInvalid("Invalid message attribute name ending with character '.' was found.")
    if ".." in name:
        raise ParameterValueInvalid("Message attribute name can not have successive '.' character.")
    if name.lower().startswith(_RESERVED_PREFIXES):
        raise ParameterValueInvalid(
            f"Message attribute name '{name}' is reserved for use by Amazon. "
            "Please use a name that does not start with 'AWS.' or 'Amazon.'.")


def _check_number(name: str, text: str) -> None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise ParameterValueInvalid(f"Could not cast message attribute '{name}' value to number.") from None
    if not number.is_finite() or abs(number) > MAX_NUMBER_ABS:
        raise ParameterValueInvalid(
            f"Value {text} for message attribute '{name}' is out of range: numbers must be between "
            "-10^9 and 10^9.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_NUMBER_DECIMALS:
        raise ParameterValueInvalid(
            f"Value {text} for message attribute '{name}' has more than {MAX_NUMBER_DECIMALS} "
            "decimal places.")


def _check_string_array(name: str, text: str) -> None:
    try:
        items = msgspec.json.decode(text)
    except msgspec.DecodeError:
        items = None
    if not isinstance(items, list) or any(isinstance(i, dict | list) for i in items):
        raise ParameterValueInvalid(
            f"The message attribute '{name}' with type 'String.Array' has an invalid value: it must be a "
            "JSON array of strings, numbers, true, false or null.")


def validate_message_attributes(attributes: dict[str, dict[str, Any]]) -> None:
    """Check names, types and values as SNS Publish does; raise ParameterValueInvalid."""
    for name, value in attributes.items():
        _check_name(name)
        kind = value.get("DataType")
        if kind is None:
            raise ValidationError(f"1 validation error detected: Value null at 'messageAttributes.{name}."
                                  "member.dataType' failed to satisfy constraint: Member must not be null")
        match = _ATTRIBUTE_TYPE.match(kind)
        if match is None:
            raise ParameterValueInvalid(
                f"The message attribute '{name}' has an invalid message attribute type, the set of "
                "supported type prefixes is Binary, Number, and String.")
        base = match.group(1)
        string, binary = value.get("StringValue"), value.get("BinaryValue")
        if base == "Binary":
            if string is not None or binary is None:
                if string is None:
                    raise ParameterValueInvalid(
                        f"The message attribute '{name}' must contain non-empty message attribute "
                        f"value for message attribute type '{base}'.")
                raise ParameterValueInvalid(
                    f"The message attribute '{name}' with type '{base}' must use field 'Binary'.")
            if len(binary) == 0:
                raise ParameterValueInvalid(
                    f"The message attribute '{name}' must contain non-empty message attribute value "
                    f"for message attribute type '{base}'.")
            continue
        if binary is not None:
            raise ParameterValueInvalid(
                f"The message attribute '{name}' with type '{base}' must use field 'String'.")
        if not string:
            raise ParameterValueInvalid(
                f"The message attribute '{name}' must contain non-empty message attribute value for "
                f"message attribute type '{kind if kind == 'String.Array' else base}'.")
        if base == "Number":
            _check_number(name, string)
        elif kind == "String.Array":
            _check_string_array(name, string)
