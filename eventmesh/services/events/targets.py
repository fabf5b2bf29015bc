"""Rule targets and their delivery: retries with back-off, maximum event age, the rule DLQ
(spec eventbridge.md §6, §7).

Everything that decides what happens to a failed target invocation lives here. A failed
delivery is retried with exponential back-off and jitter until ``MaximumRetryAttempts``
(0–185, default 185) retries are used or ``MaximumEventAgeInSeconds`` (60–86,400, default
86,400) passes. Missing permissions, a missing target and an invalid payload are not retried.
Then the events go to the target's ``DeadLetterConfig`` queue, each with the message attributes
``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``, ``EXHAUSTED_RETRY_CONDITION``
(when retries ran out) and ``RETRY_ATTEMPTS``, or are dropped.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html

A batch of events bound for one target is one ``Deliver`` effect and one retry timer; HTTP
targets (API destinations) go one event per call, as AWS sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eventmesh.effects import Deliver, Delivery, DeliveryResult
from eventmesh.services.events.api_destinations import call_api_destination
from eventmesh.services.events.errors import ValidationException
from eventmesh.services.events.transform import TargetInput, compile_json_path, compile_target_input, select_path

if TYPE_CHECKING:
    from eventmesh.services.events.bus import Rule

__all__ = [
    "HOPS_ATTRIBUTE",
    "LOOP_ERROR_CODE",
    "MAX_BUS_HOPS",
    "DEFAULT_MAXIMUM_EVENT_AGE_SECONDS",
    "DEFAULT_MAXIMUM_RETRY_ATTEMPTS",
    "RETRY_BASE_DELAY_SECONDS",
    "RETRY_MAX_DELAY_SECONDS",
    "RuleTarget",
    "TargetDelivery",
    "dlq_error_code",
]

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185        # §7 RetryPolicy.MaximumRetryAttempts, range 0–185
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400  # §7 RetryPolicy.MaximumEventAgeInSeconds, range 60–86,400
MAX_RETRY_ATTEMPTS = 185
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 86_400
# AWS publishes no numbers for its back-off beyond "exponential with jitter, 185 tries in 24 h".
# Doubling from 1 s to a 10-minute cap with jitter in [50 %, 100 %] spends ≈23 h on 185 retries.
RETRY_BASE_DELAY_SECONDS = 1.0
RETRY_MAX_DELAY_SECONDS = 600.0
RETRY_JITTER_LOW = 0.5

# Delivery error codes of the target services → the DLQ ERROR_CODE AWS writes (§7).
_ERROR_CODES = {
    "ResourceNotFoundException": "NO_RESOURCE", "QueueDoesNotExist": "NO_RESOURCE",
    "AWS.SimpleQueueService.NonExistentQueue": "NO_RESOURCE", "NotFound": "NO_RESOURCE",
    "NotFoundException": "NO_RESOURCE",
    "AccessDenied": "NO_PERMISSIONS", "AccessDeniedException": "NO_PERMISSIONS",
    "AuthorizationError": "NO_PERMISSIONS", "KMSAccessDeniedException": "NO_PERMISSIONS",
    "ThrottlingException": "THROTTLING", "Throttling": "THROTTLING", "TooManyRequestsException": "THROTTLING",
    "ProvisionedThroughputExceededException": "THROTTLING", "RequestThrottled": "THROTTLING",
    "TimeoutException": "TIMEOUT", "Timeout": "TIMEOUT", "RequestTimeout": "TIMEOUT",
    "InvalidParameterValue": "INVALID_PARAMETER", "InvalidParameterException": "INVALID_PARAMETER",
    "InvalidMessageContents": "INVALID_PARAMETER", "ValidationException": "INVALID_PARAMETER",
    "InvalidRequestContentException": "INVALID_PARAMETER", "RequestTooLargeException": "INVALID_PARAMETER",
    "ResourceAlreadyExistsException": "RESOURCE_ALREADY_EXISTS",
}
# Bus-to-bus hops an event may take before it is dropped as a loop (AWS documents loop protection,
# not its depth: an emulation choice). The count travels in a delivery attribute between buses.
MAX_BUS_HOPS = 5
HOPS_ATTRIBUTE = "eventmesh.hops"
LOOP_ERROR_CODE = "INFINITE_LOOP"
_NOT_RETRIED = frozenset({LOOP_ERROR_CODE, "NO_RESOURCE", "NO_PERMISSIONS", "INVALID_PARAMETER",
                          "RESOURCE_ALREADY_EXISTS"})
_GENERIC_ERROR_CODE = "SDK_CLIENT_ERROR"


def dlq_error_code(error: str | None) -> str:
    """The ``ERROR_CODE`` attribute for a delivery error (codes already in that form pass)."""
    if not error:
        return _GENERIC_ERROR_CODE
    mapped = _ERROR_CODES.get(error)
    if mapped is not None:
        return mapped
    return error if error.isupper() else _GENERIC_ERROR_CODE


def _target_kind(arn: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return "other"
    service, resource = parts[2], parts[5]
    if service == "events":
        if resource.startswith("event-bus/"):
            return "bus"
        if resource.startswith("api-destination/"):
            return "api"
        return "other"
    return service if service in ("sqs", "sns", "lambda", "kinesis") else "other"


class RuleTarget:
    """One target of a rule, compiled from a PutTargets ``Target`` (kept verbatim in ``spec``)."""

    __slots__ = (
        "arn",
        "dlq_arn",
        "group_id",
        "id",
        "input",
        "kind",
        "max_age",
        "max_retries",
        "partition_key_path",
        "plain",
        "spec",
    )

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = dict(spec)
        self.id: str = spec["Id"]
        self.arn: str = spec["Arn"]
        self.kind = _target_kind(self.arn)
        self.input: TargetInput | None = compile_target_input(spec)
        retry = spec.get("RetryPolicy") or {}
        self.max_retries: int = retry.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS)
        self.max_age: int = retry.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS)
        if not 0 <= self.max_retries <= MAX_RETRY_ATTEMPTS:
            raise ValidationException("Parameter MaximumRetryAttempts is not valid.")
        if not MIN_EVENT_AGE_SECONDS <= self.max_age <= MAX_EVENT_AGE_SECONDS:
            raise ValidationException("Parameter MaximumEventAgeInSeconds is not valid.")
        self.dlq_arn: str | None = (spec.get("DeadLetterConfig") or {}).get("Arn")
        dlq = self.dlq_arn
        if dlq is not None and (_target_kind(dlq) != "sqs" or dlq.endswith(".fifo")):
            raise ValidationException("Parameter DeadLetterConfig.Arn is not valid.")  # standard SQS only
        self.group_id: str | None = (spec.get("SqsParameters") or {}).get("MessageGroupId")
        path = (spec.get("KinesisParameters") or {}).get("PartitionKeyPath")
        self.partition_key_path = None if path is None else compile_json_path(path, "PartitionKeyPath")
        # The bus hands a plain target the event itself as ``Delivery(event_json)``: no Input
        # rendering, no FIFO group, partition key or hop count (see ``delivery``).
        self.plain = (self.input is None and self.group_id is None
                      and self.kind not in ("bus", "kinesis", "api"))

    def delivery(self, payload: str, event: Mapping[str, Any], hops: int = 0) -> Delivery:
        """The message for this target: the payload plus its FIFO group, Kinesis partition key or,
        for another bus, the number of bus hops so far."""
        if self.kind == "bus":
            return Delivery(payload, attributes={HOPS_ATTRIBUTE: {"DataType": "Number",
                                                                  "StringValue": str(hops + 1)}})
        if self.kind == "kinesis":
            key: Any = event["id"]
            if self.partition_key_path is not None:
                key = select_path(event, self.partition_key_path)
            return Delivery(payload, partition_key=key if isinstance(key, str) else str(key))
        if self.group_id is not None:
            return Delivery(payload, group_id=self.group_id)
        return Delivery(payload)


class TargetDelivery:
    """A batch of events on its way to one target of one rule, with its retry state."""

    __slots__ = ("ingested_at", "items", "retries", "rule", "target")

    def __init__(self, rule: Rule, target: RuleTarget, items: list[Delivery], ingested_at: float) -> None:
        self.rule = rule
        self.target = target
        self.items = items
        self.ingested_at = ingested_at
        self.retries = 0

    def send(self) -> None:
        rule = self.rule
        if self.target.kind == "api":
            call_api_destination(rule.mesh, self.target.arn, self.target.spec.get("HttpParameters"),
                                 self.items[0].body, self.on_result)
        else:
            rule.mesh.emit(Deliver(self.target.arn, self.items, rule.arn, self.on_result))

    def on_result(self, result: DeliveryResult) -> None:
        rule = self.rule
        if self.retries == 0:
            rule.bus.record_invocation_start(self.ingested_at)
        if result.ok:
            rule.invocations += len(self.items)
            return
        code = dlq_error_code(result.error)
        if code == LOOP_ERROR_CODE:  # not invoked: DeadLetterInvocations, no DLQ (spec §11)
            rule.dead_letter_invocations += len(self.items)
            return
        exhausted: str | None = None
        if code not in _NOT_RETRIED:
            clock = rule.mesh.clock
            now = clock.now()
            if self.retries >= self.target.max_retries:
                exhausted = "MaximumRetryAttempts"
            else:
                delay = self._backoff()
                if now + delay - self.ingested_at > self.target.max_age:
                    exhausted = "MaximumEventAgeInSeconds"
                else:
                    self.retries += 1
                    clock.call_at(now + delay, self.send)
                    return
        self._dead_letter(code, result.message or result.error or "", exhausted)

    def _backoff(self) -> float:
        delay = min(RETRY_MAX_DELAY_SECONDS, RETRY_BASE_DELAY_SECONDS * 2.0 ** min(self.retries, 32))
        return delay * self.rule.mesh.ids.random.uniform(RETRY_JITTER_LOW, 1.0)

    def _dead_letter(self, code: str, message: str, exhausted: str | None) -> None:
        rule, target = self.rule, self.target
        if target.dlq_arn is None:
            rule.invocations += len(self.items)
            rule.failed_invocations += len(self.items)
            return
        attributes = {
            "RULE_ARN": _string(rule.arn), "TARGET_ARN": _string(target.arn),
            "ERROR_CODE": _string(code), "ERROR_MESSAGE": _string(message),
            "RETRY_ATTEMPTS": _string(str(self.retries)),
        }
        if exhausted is not None:
            attributes["EXHAUSTED_RETRY_CONDITION"] = _string(exhausted)
        items = [Delivery(item.body, attributes=attributes) for item in self.items]
        count = len(items)

        def sent(result: DeliveryResult) -> None:
            if result.ok:
                rule.invocations_sent_to_dlq += count
            else:
                rule.invocations_failed_to_be_sent_to_dlq += count
                rule.failed_invocations += count

        rule.mesh.emit(Deliver(target.dlq_arn, items, rule.arn, sent))


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}
