"""The contract between a queue and its order (``standard.py``, ``fifo.py``).

:class:`~eventmesh.services.sqs.queue.Queue` owns the storage every queue has (counts, receipts
and leases, delays, retention, redrive) and offers it to its order as :class:`QueueStore`; the
order decides what differs by queue kind and offers that as :class:`Order`. Neither reaches
into the other's private state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from eventmesh.clock import Clock
from eventmesh.effects import DELIVERED, Delivery, DeliveryResult
from eventmesh.services.sqs.attributes import QueueConfig
from eventmesh.services.sqs.errors import SqsError
from eventmesh.services.sqs.message import Message, SendEntry
from eventmesh.services.sqs.retention import Retention

__all__ = ["ID_DIGITS", "Order", "QueueStore", "send_deliveries", "split_batch"]

# The last character of a message id within one sent batch: a batch takes at most 16 messages
# (deliveries from other cores may bring more than SendMessageBatch's 10; they are split).
ID_DIGITS = "0123456789abcdef"


def split_batch(send: Callable[[Sequence[SendEntry]], list[Message | SqsError]],
                entries: Sequence[SendEntry]) -> list[Message | SqsError]:
    """``send`` of more entries than one id batch takes, a batch at a time."""
    step = len(ID_DIGITS)
    return [r for i in range(0, len(entries), step) for r in send(entries[i:i + step])]


def send_deliveries(send_batch: Callable[[Sequence[SendEntry]], list[Message | SqsError]],
                    items: list[Delivery]) -> DeliveryResult:
    """Deliveries from another core sent as a SendMessageBatch would be (every check, the queue's
    delay); the first entry's error, if any, is the delivery's answer."""
    entries = [SendEntry(item.body, item.attributes or None, None, item.group_id, item.deduplication_id,
                         item.trace_header, None, item.json_text) for item in items]
    for result in send_batch(entries):
        if isinstance(result, SqsError):
            return result.delivery_result()
    return DELIVERED


class QueueStore(Protocol):
    """What an order may ask of its queue."""

    clock: Clock
    config: QueueConfig
    handle_prefix: str
    max_size: int
    delay_s: int
    deduplicated: int

    def next_id_base(self) -> str: ...

    n_visible: int
    # What Queue.placed keeps, for the standard order's delivery path that does it inline.
    retention: Retention
    sent: int
    sent_bytes: int

    def store_visible(self, ready: list[Message], accepted: int, size_total: int) -> None: ...

    def placed(self, ready: list[Message], accepted: int, size_total: int, wake: bool) -> None: ...

    def delay(self, delay: int, now: float, msgs: list[Message]) -> None: ...

    def drop(self, msg: Message) -> None: ...

    def wake(self) -> None: ...

    def send_batch(self, entries: Sequence[SendEntry]) -> list[Message | SqsError]: ...


class Order(Protocol):
    """What a queue asks of its order."""

    fifo: bool
    max_inflight: int

    def send_batch(self, entries: Sequence[SendEntry]) -> list[Message | SqsError]: ...

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult: ...

    def acceptor(self) -> Callable[[list[Delivery], str], DeliveryResult]: ...

    def made_visible(self, msgs: list[Message], was_empty: bool) -> bool: ...

    def take(self, wanted: int, max_receives: int) -> tuple[list[Message], list[Message] | None]: ...

    def released(self, msgs: list[Message]) -> None: ...

    def gone(self, msg: Message, was_inflight: bool) -> None: ...

    def stale_error(self, receipt: int) -> SqsError | None: ...

    def late_delete_error(self, receipt: int) -> SqsError | None: ...

    def retention_base(self, msg: Message) -> float: ...

    def redriven(self, msgs: list[Message], now: float) -> None: ...

    def retry_attempt(self, attempt_id: str, now: float) -> list[Message] | None: ...

    def remember_attempt(self, attempt_id: str, now: float, msgs: list[Message]) -> None: ...

    def reset(self) -> None: ...

    def take_visible(self, limit: int) -> list[Message]: ...
