"""SNS delivery: retry policies per protocol, the HTTP effect, and the attempt → retry → DLQ machine.

Everything that decides whether and when a notification is tried again lives here:

* SQS and Lambda (AWS-managed endpoints): 3 immediate retries, 2 one second apart, 10 backing off
  exponentially from 1 s to 20 s, then 100,000 twenty seconds apart (≈23 days).
* HTTP/S: the ``DeliveryPolicy`` (default: 3 retries 20 s apart, linear), subscription over topic
  unless the topic sets ``disableSubscriptionOverrides``.
* Client-side failures (endpoint gone, permission denied, too big, HTTP 4xx other than 429) are
  not retried. When the retries run out the batch goes to the subscription's DLQ (an SQS queue),
  exactly as it would have been delivered.

Both schedules are one :class:`RetryPolicy`: the phases count *retries after the first attempt*,
as the HTTP ``numRetries`` fields do. No jitter is applied (AWS adds some), so virtual runs are
exact. One pending delivery (all messages of one publish call for one subscription) holds at most
one timer, never one per message.

An injected outage of a subscription's endpoint (a fault, ``Subscription.down``) answers every
attempt as the endpoint would when down (a refused connection for HTTP/S, the delivery's failure
for the others), so the retry policy and the DLQ apply as on AWS.
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec

from eventmesh.effects import Deliver, Delivery, DeliveryResult, HttpRequest, HttpResponse, Outcome
from eventmesh.mesh import Mesh
from eventmesh.timers import Timer

__all__ = [
    "AWS_MANAGED_RETRY_POLICY",
    "DEFAULT_HTTP_RETRY_POLICY",
    "Dispatcher",
    "Pending",
    "RetryPolicy",
    "effective_subscription_policy",
    "effective_topic_policy",
    "shown_subscription_policy",
    "shown_topic_policy",
    "retry_schedule",
]

NOTIFICATION_TIMEOUT_S = 15.0  # HTTP request timeout ≈ 15 s (unverified)
MAX_HTTP_RETRIES = 100  # numRetries 0–100
MAX_HTTP_DELAY_S = 3_600  # maxDelayTarget ≤ 3,600 s
MAX_HTTP_POLICY_S = 3_600  # the whole HTTP policy may not exceed 3,600 s of retry time
BACKOFF_FUNCTIONS = ("linear", "arithmetic", "geometric", "exponential")


class RetryPolicy(msgspec.Struct, frozen=True, rename="camel"):
    """A ``healthyRetryPolicy``: no-delay, min-delay, backoff and max-delay phases of retries."""

    min_delay_target: int = 20
    max_delay_target: int = 20
    num_retries: int = 3
    num_max_delay_retries: int = 0  # (fields in the order GetTopicAttributes shows them)
    num_no_delay_retries: int = 0
    num_min_delay_retries: int = 0
    backoff_function: str = "linear"

    @property
    def num_backoff_retries(self) -> int:
        return (self.num_retries - self.num_no_delay_retries - self.num_min_delay_retries
                - self.num_max_delay_retries)

    def delay_s(self, retry: int) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based); None once the policy is spent."""
        if retry > self.num_retries:
            return None
        if retry <= self.num_no_delay_retries:
            return 0.0
        retry -= self.num_no_delay_retries
        if retry <= self.num_min_delay_retries:
            return float(self.min_delay_target)
        retry -= self.num_min_delay_retries
        backoff = self.num_backoff_retries
        if retry <= backoff:
            return _backoff(self.backoff_function, self.min_delay_target, self.max_delay_target,
                            retry, backoff)
        return float(self.max_delay_target)

    def check(self) -> str | None:
        """Why this policy is invalid as a customer HTTP policy, or None."""
        if not 0 <= self.num_retries <= MAX_HTTP_RETRIES:
            return f"numRetries must be between 0 and {MAX_HTTP_RETRIES}"
        if min(self.num_no_delay_retries, self.num_min_delay_retries, self.num_max_delay_retries) < 0:
            return "retry counts must not be negative"
        if self.num_backoff_retries < 0:
            return "numRetries must be at least the sum of the no-delay, min-delay and max-delay retries"
        if not 1 <= self.min_delay_target <= self.max_delay_target:
            return "minDelayTarget must be between 1 and maxDelayTarget"
        if self.max_delay_target > MAX_HTTP_DELAY_S:
            return f"maxDelayTarget must be at most {MAX_HTTP_DELAY_S}"
        if self.backoff_function not in BACKOFF_FUNCTIONS:
            return f"backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}"
        if sum(retry_schedule(self)) > MAX_HTTP_POLICY_S:
            return f"total retry time must not exceed {MAX_HTTP_POLICY_S} seconds"
        return None


def _backoff(function: str, low: int, high: int, step: int, steps: int) -> float:
    """Delay of backoff step ``step`` of ``steps``, from ``low`` (first) to ``high`` (last).

    AWS publishes the four curves only as a chart; these shapes follow it (linear straight,
    arithmetic quadratic, geometric constant ratio, exponential flat then steep).
    """
    fraction = 1.0 if steps == 1 else (step - 1) / (steps - 1)
    if function == "arithmetic":
        fraction = fraction * fraction
    elif function == "geometric":
        return float(low * (high / low) ** fraction)
    elif function == "exponential":
        fraction = (2.0 ** (10 * fraction) - 1) / 1023
    return low + (high - low) * fraction


def retry_schedule(policy: RetryPolicy) -> list[float]:
    """Every retry delay of ``policy`` in order (for validation and tests; not on the hot path)."""
    return [policy.delay_s(n) or 0.0 for n in range(1, policy.num_retries + 1)]


AWS_MANAGED_RETRY_POLICY = RetryPolicy(
    min_delay_target=1, max_delay_target=20, num_retries=100_015, num_no_delay_retries=3,
    num_min_delay_retries=2, num_max_delay_retries=100_000, backoff_function="exponential")
DEFAULT_HTTP_RETRY_POLICY = RetryPolicy()


NOTIFICATION_CONTENT_TYPE = "text/plain; charset=UTF-8"  # HTTP/S Content-Type
# What an attempt to a subscription whose endpoint is down (an injected fault) gets.
ENDPOINT_DOWN_RESPONSE = HttpResponse(None, "ConnectionRefusedError: the endpoint is down (injected fault)")
ENDPOINT_DOWN_RESULT = DeliveryResult(Outcome.FAILED, "EndpointUnavailable", "The endpoint is down (injected fault)")


class RequestPolicy(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """``requestPolicy`` / ``defaultRequestPolicy``: the Content-Type of HTTP notifications."""

    header_content_type: str | None = None


class ThrottlePolicy(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """``throttlePolicy``: accepted and validated, not enforced (no throttling is modelled)."""

    max_receives_per_second: int | None = None


class SubscriptionDeliveryPolicy(msgspec.Struct, frozen=True, rename="camel"):
    """A subscription's ``DeliveryPolicy`` (``sicklyRetryPolicy``/``guaranteed`` are ignored)."""

    healthy_retry_policy: RetryPolicy | None = None
    sickly_retry_policy: Any = None
    throttle_policy: ThrottlePolicy | None = None
    request_policy: RequestPolicy | None = None
    guaranteed: bool = False


class HttpTopicPolicy(msgspec.Struct, frozen=True, rename="camel"):
    """The ``http`` member of a topic's ``DeliveryPolicy``."""

    default_healthy_retry_policy: RetryPolicy | None = None
    default_sickly_retry_policy: Any = None
    disable_subscription_overrides: bool = False
    default_throttle_policy: ThrottlePolicy | None = None
    default_request_policy: RequestPolicy | None = None


class TopicDeliveryPolicy(msgspec.Struct, frozen=True, rename="camel"):
    """A topic's ``DeliveryPolicy``: only its ``http`` member governs deliveries here."""

    http: HttpTopicPolicy | None = None


_topic_policy = msgspec.json.Decoder(TopicDeliveryPolicy)
_subscription_policy = msgspec.json.Decoder(SubscriptionDeliveryPolicy)


def _check_policy(retry: RetryPolicy | None, throttle: ThrottlePolicy | None) -> str | None:
    if retry is not None and (problem := retry.check()) is not None:
        return problem
    if throttle is not None and throttle.max_receives_per_second is not None \
            and throttle.max_receives_per_second < 1:
        return "maxReceivesPerSecond must be at least 1"
    return None


def parse_topic_delivery_policy(text: str) -> TopicDeliveryPolicy:
    """Decode and check a topic ``DeliveryPolicy``; ValueError names the problem."""
    try:
        policy = _topic_policy.decode(text)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
    http = policy.http
    if http is not None and (problem := _check_policy(http.default_healthy_retry_policy,
                                                      http.default_throttle_policy)):
        raise ValueError(problem)
    return policy


def parse_subscription_delivery_policy(text: str) -> SubscriptionDeliveryPolicy:
    """Decode and check a subscription ``DeliveryPolicy``; ValueError names the problem."""
    try:
        policy = _subscription_policy.decode(text)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
    if (problem := _check_policy(policy.healthy_retry_policy, policy.throttle_policy)) is not None:
        raise ValueError(problem)
    return policy


def effective_http_policy(topic: TopicDeliveryPolicy | None,
                          sub: SubscriptionDeliveryPolicy | None) -> tuple[RetryPolicy, str]:
    """The retry policy and Content-Type an HTTP/S subscription is delivered with."""
    http = topic.http if topic is not None else None
    retry = DEFAULT_HTTP_RETRY_POLICY
    content_type = NOTIFICATION_CONTENT_TYPE
    if http is not None:
        retry = http.default_healthy_retry_policy or retry
        if http.default_request_policy is not None and http.default_request_policy.header_content_type:
            content_type = http.default_request_policy.header_content_type
        if http.disable_subscription_overrides:
            return retry, content_type
    if sub is not None:
        retry = sub.healthy_retry_policy or retry
        if sub.request_policy is not None and sub.request_policy.header_content_type:
            content_type = sub.request_policy.header_content_type
    return retry, content_type


_POLICY_KEYS = ("defaultHealthyRetryPolicy", "defaultSicklyRetryPolicy", "disableSubscriptionOverrides",
                "defaultThrottlePolicy", "defaultRequestPolicy")
_SUB_POLICY_KEYS = ("healthyRetryPolicy", "sicklyRetryPolicy", "throttlePolicy", "requestPolicy")
_encode_json = msgspec.json.Encoder().encode


def shown_topic_policy(text: str) -> str:
    """A topic's ``DeliveryPolicy`` as GetTopicAttributes shows it: the members given (nulls
    dropped) and ``disableSubscriptionOverrides`` always present under ``http``."""
    document = msgspec.json.decode(text)
    http = document.get("http") if isinstance(document, dict) else None
    if not isinstance(http, dict):
        return text
    shown: dict[str, Any] = {}
    for key in _POLICY_KEYS:
        value = http.get(key, False if key == "disableSubscriptionOverrides" else None)
        if value is not None:
            shown[key] = value
    shown.update((k, v) for k, v in http.items() if k not in shown and v is not None)
    return _encode_json({**document, "http": shown}).decode()


def effective_topic_policy(policy: TopicDeliveryPolicy | None) -> str:
    """``EffectiveDeliveryPolicy`` of a topic: its ``http`` policy over AWS's defaults."""
    http = policy.http if policy is not None else None
    retry = (http.default_healthy_retry_policy if http is not None else None) or DEFAULT_HTTP_RETRY_POLICY
    out: dict[str, Any] = {"defaultHealthyRetryPolicy": retry,
                           "disableSubscriptionOverrides": bool(http and http.disable_subscription_overrides)}
    if http is not None and http.default_throttle_policy is not None:
        out["defaultThrottlePolicy"] = http.default_throttle_policy
    content_type = NOTIFICATION_CONTENT_TYPE
    if http is not None and http.default_request_policy is not None \
            and http.default_request_policy.header_content_type:
        content_type = http.default_request_policy.header_content_type
    out["defaultRequestPolicy"] = {"headerContentType": content_type}
    return _encode_json({"http": out}).decode()


def shown_subscription_policy(text: str) -> str:
    """A subscription's ``DeliveryPolicy`` as GetSubscriptionAttributes shows it: every member,
    null when not given, and ``guaranteed``."""
    document = msgspec.json.decode(text)
    if not isinstance(document, dict):
        return text
    shown = {key: document.get(key) for key in _SUB_POLICY_KEYS}
    shown["guaranteed"] = bool(document.get("guaranteed", False))
    return _encode_json(shown).decode()


def effective_subscription_policy(topic: TopicDeliveryPolicy | None, sub: SubscriptionDeliveryPolicy | None,
                                  retry: RetryPolicy, content_type: str) -> str:
    """``EffectiveDeliveryPolicy`` of an HTTP/S subscription: the retry policy and Content-Type it
    is delivered with, and the throttle policy of the subscription or else the topic."""
    http = topic.http if topic is not None else None
    throttle = sub.throttle_policy if sub is not None else None
    if throttle is None and http is not None:
        throttle = http.default_throttle_policy
    return _encode_json({"healthyRetryPolicy": retry, "sicklyRetryPolicy": None, "throttlePolicy": throttle,
                         "requestPolicy": {"headerContentType": content_type},
                         "guaranteed": bool(sub and sub.guaranteed)}).decode()


def http_retryable(response: HttpResponse) -> bool:
    """Whether SNS tries an HTTP/S notification again: 5xx, 429 and no answer at all are retried;
    other 4xx are permanent."""
    status = response.status
    return status is None or status >= 500 or status == 429


class Subscription:
    """One subscription of a topic: where to deliver, how, and what it accepts.

    http/https subscriptions start pending until confirmed with their token; every other
    protocol is confirmed at once. ``active`` turns False when it is unsubscribed, so pending
    retries for it stop.
    """

    __slots__ = ("arn", "topic_arn", "protocol", "endpoint", "owner", "seq", "confirmed", "active",
                 "token", "token_at", "raw", "filter_policy", "filter_scope", "redrive_policy",
                 "dlq_arn", "delivery_policy", "retry", "content_type", "extra", "down")

    def __init__(self, arn: str, topic_arn: str, protocol: str, endpoint: str, owner: str,
                 seq: int) -> None:
        self.arn = arn
        self.topic_arn = topic_arn
        self.protocol = protocol
        self.endpoint = endpoint
        self.owner = owner
        self.seq = seq
        self.confirmed = protocol not in ("http", "https")
        self.active = True
        self.token: str | None = None
        self.token_at = 0.0
        self.raw = False
        self.filter_policy: str | None = None
        self.filter_scope = "MessageAttributes"
        self.redrive_policy: str | None = None
        self.dlq_arn: str | None = None
        self.delivery_policy: SubscriptionDeliveryPolicy | None = None
        self.retry = DEFAULT_HTTP_RETRY_POLICY if protocol in ("http", "https") else AWS_MANAGED_RETRY_POLICY
        self.content_type = NOTIFICATION_CONTENT_TYPE
        self.extra: dict[str, str] = {}  # set attributes kept verbatim (DeliveryPolicy text, roles…)
        self.down = False  # an injected outage of the endpoint: every attempt fails (retryable)

    @property
    def is_http(self) -> bool:
        return self.protocol in ("http", "https")


class Pending:
    """One delivery on its way: the messages of one publish call for one subscription."""

    __slots__ = ("http", "items", "messages", "retries", "sub", "timer")

    def __init__(self, sub: Any, messages: list[Any], items: list[Delivery] | None,
                 http: HttpRequest | None) -> None:
        self.sub = sub
        self.messages = messages
        self.items = items
        self.http = http
        self.retries = 0
        self.timer: Timer | None = None


class Dispatcher:
    """Attempts, retries and dead-letters the deliveries of one topic; owns their counters."""

    def __init__(self, mesh: Mesh, source_arn: str,
                 dlq_items: Callable[[Any, list[Any]], list[Delivery]], *, ordered: bool = False) -> None:
        self.mesh = mesh
        self.source_arn = source_arn
        self._dlq_items = dlq_items
        self._waiting: set[Pending] = set()  # pendings with a retry timer
        # FIFO topics: while a delivery to a subscription is being retried, later ones wait
        # behind it, so a retry never lets a newer message overtake (stricter than per group).
        self.ordered = ordered
        self._held: dict[Any, tuple[Pending, deque[Pending]]] = {}
        self.submitted = 0   # notifications handed to the dispatcher (one per message and subscription)
        self.in_flight = 0   # sent, their answer not back yet (a delivery's latency, an HTTP call)
        self.delivered = 0
        self.failed = 0
        self.redriven_to_dlq = 0
        self.failed_to_redrive_to_dlq = 0

    @property
    def retrying(self) -> int:
        return len(self._waiting)

    def pending_messages(self) -> int:
        """Notifications neither delivered nor failed yet: on their way, waiting for a retry or
        held behind one."""
        held = sum(len(p.messages) for _, queue in self._held.values() for p in queue)
        return sum(len(p.messages) for p in self._waiting) + held + self.in_flight

    def submit(self, pending: Pending) -> None:
        """A new delivery from the topic: sent now, or queued behind a retrying one (FIFO)."""
        self.submitted += len(pending.messages)
        if self.ordered and (held := self._held.get(pending.sub)) is not None:
            held[1].append(pending)
            return
        self.send(pending)

    def send(self, pending: Pending) -> None:
        """Make the first (or next) attempt of ``pending``."""
        mesh = self.mesh
        self.in_flight += len(pending.messages)   # until on_result / on_http
        if pending.sub.down:
            if pending.http is not None:
                self.on_http(pending, ENDPOINT_DOWN_RESPONSE)
            else:
                self.on_result(pending, ENDPOINT_DOWN_RESULT)
            return
        if pending.http is not None:
            http = pending.http
            mesh.emit(HttpRequest(http.url, http.method, http.headers, http.body, http.timeout_s,
                                  mesh.expect(partial(self.on_http, pending))))
        else:
            assert pending.items is not None
            mesh.emit(Deliver(pending.sub.endpoint, pending.items, self.source_arn,
                              mesh.expect(partial(self.on_result, pending))))

    def reject(self, pending: Pending) -> None:
        """Fail ``pending`` without trying it (the target could never take it): straight to the DLQ."""
        self.submitted += len(pending.messages)
        self._failed(pending, retryable=False)

    def close(self) -> None:
        """Forget every pending retry (the topic was deleted)."""
        for pending in self._waiting:
            self.mesh.clock.cancel(pending.timer)
        self._waiting.clear()
        self._held.clear()

    def on_http(self, pending: Pending, response: HttpResponse) -> None:
        self.in_flight -= len(pending.messages)
        if response.ok:
            self.delivered += len(pending.messages)
            self._settled(pending)
        else:
            self._failed(pending, http_retryable(response))

    def on_result(self, pending: Pending, result: DeliveryResult) -> None:
        self.in_flight -= len(pending.messages)
        if not result.kind:  # Outcome.DELIVERED is 0: ``result.ok`` without a property call
            self.delivered += len(pending.messages)
            self._settled(pending)
        else:
            self._failed(pending, result.retryable)

    def _settled(self, pending: Pending) -> None:
        """``pending`` is done (delivered or given up): let the next one held behind it go."""
        if not self.ordered:
            return
        held = self._held.get(pending.sub)
        if held is None or held[0] is not pending:
            return
        behind = held[1]
        if behind:
            head = behind.popleft()
            self._held[pending.sub] = (head, behind)
            self.send(head)
        else:
            del self._held[pending.sub]

    def _failed(self, pending: Pending, retryable: bool) -> None:
        sub = pending.sub
        if not sub.active:  # unsubscribed meanwhile: nothing left to retry or dead-letter for
            self.failed += len(pending.messages)
            self._held.pop(sub, None)
            return
        if retryable:
            pending.retries += 1
            delay = sub.retry.delay_s(pending.retries)
            if delay is not None:
                if self.ordered and sub not in self._held:
                    self._held[sub] = (pending, deque())
                if delay <= 0:
                    self.send(pending)
                else:
                    pending.timer = self.mesh.clock.call_later(delay, lambda: self._retry(pending))
                    self._waiting.add(pending)
                return
        self.failed += len(pending.messages)
        if sub.dlq_arn is not None:
            items = self._dlq_items(sub, pending.messages)
            self.mesh.emit(Deliver(sub.dlq_arn, items, sub.arn, self.mesh.expect(partial(self.on_dlq, pending))))
        self._settled(pending)

    def _retry(self, pending: Pending) -> None:
        self._waiting.discard(pending)
        pending.timer = None
        if pending.sub.active:
            self.send(pending)

    def on_dlq(self, pending: Pending, result: DeliveryResult) -> None:
        count = len(pending.messages)
        if result.ok:
            self.redriven_to_dlq += count
        else:
            self.failed_to_redrive_to_dlq += count
