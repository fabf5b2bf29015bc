"""Typed effects a core emits for the mesh and the driver to carry out.

Cores never call the next stage or do I/O: they append effects to ``mesh.outbox``. The mesh
carries out the ones that stay in process (a delivery to another core) and hands the rest to
subscribers the driver registered (long-poll wake-ups, HTTP calls, handler runs in workers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["Available", "Deliver", "Delivery", "DeliveryResult", "Effect"]


class Delivery(msgspec.Struct):
    """One message handed to a target core (an SQS message, a Lambda event, a stream record...).

    ``attributes`` uses the SQS MessageAttributes shape
    (``{"Name": {"DataType": "String", "StringValue": "v"}}``), which SNS and Lambda
    destinations map from their own shapes.
    """

    body: str
    attributes: dict[str, Any] = {}
    group_id: str | None = None
    deduplication_id: str | None = None
    partition_key: str | None = None


class DeliveryResult(msgspec.Struct):
    """How a delivery went: ``error`` is ``None`` on success, else the AWS error code."""

    ok: bool
    error: str | None = None
    message: str | None = None


class Deliver(msgspec.Struct):
    """Deliver ``items`` to the resource at ``target_arn``; ``reply`` (if set) gets the result."""

    target_arn: str
    items: list[Delivery]
    source_arn: str = ""
    reply: Callable[[DeliveryResult], None] | None = None


class Available(msgspec.Struct):
    """The resource at ``arn`` has something to receive (wakes long polls and pollers)."""

    arn: str


Effect = Deliver | Available | Any
