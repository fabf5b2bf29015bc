"""Shared helpers of the EventBridge tests: a recording delivery target."""

from __future__ import annotations

from typing import Any

from eventmesh.effects import Delivery, DeliveryResult

ACCOUNT = "000000000000"
REGION = "us-east-1"


def sqs_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


class Recorder:
    """A delivery target that records what it accepts and answers from a script of results."""

    def __init__(self, arn: str, *results: DeliveryResult) -> None:
        self.arn = arn
        self.batches: list[tuple[float, list[Delivery], str]] = []
        self.results = list(results)
        self.clock: Any = None

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.batches.append((self.clock.now() if self.clock else 0.0, list(items), source_arn))
        return self.results.pop(0) if self.results else DeliveryResult()

    @property
    def bodies(self) -> list[str]:
        return [item.body for _, items, _ in self.batches for item in items]

    @property
    def items(self) -> list[Delivery]:
        return [item for _, items, _ in self.batches for item in items]


def recorder(mesh: Any, arn: str, *results: DeliveryResult) -> Recorder:
    rec = Recorder(arn, *results)
    rec.clock = mesh.clock
    mesh.add(rec)
    return rec
