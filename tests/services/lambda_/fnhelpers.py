"""Small helpers for the function-pool tests: a mesh with functions, a recording target."""

from __future__ import annotations

from typing import Any

import msgspec

from eventmesh.effects import Delivery, DeliveryResult
from eventmesh.mesh import Mesh
from eventmesh.services.lambda_ import Function, create_function
from eventmesh.services.lambda_.pool import InvokeResult
from eventmesh.services.lambda_.service import put_invoke_config

ROLE = "arn:aws:iam::000000000000:role/test"
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:dest"
DLQ_ARN = "arn:aws:sqs:us-east-1:000000000000:dlq"


class Target:
    """A delivery target that records what it receives, with the virtual time of arrival."""

    def __init__(self, mesh: Mesh, arn: str, result: DeliveryResult | None = None) -> None:
        self.mesh = mesh
        self.arn = arn
        self.items: list[Delivery] = []
        self.times: list[float] = []
        self.result = result or DeliveryResult()

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.items.extend(items)
        self.times.extend(self.mesh.clock.now() for _ in items)
        return self.result

    def bodies(self) -> list[Any]:
        return [msgspec.json.decode(item.body) for item in self.items]


def target(mesh: Mesh, arn: str = QUEUE_ARN, result: DeliveryResult | None = None) -> Target:
    return mesh.add(Target(mesh, arn, result))


def model_function(mesh: Mesh, name: str = "f", handler: str = "model:duration=0.1",
                   **kwargs: Any) -> Function:
    return create_function(mesh, name, role=ROLE, handler=handler, **kwargs)


def invoke_sync(fn: Function, payload: bytes = b"{}", **kwargs: Any) -> list[InvokeResult]:
    results: list[InvokeResult] = []
    fn.invoke(payload, on_done=results.append, **kwargs)
    return results


def on_failure(fn: Function, arn: str = QUEUE_ARN, **kwargs: Any) -> None:
    put_invoke_config(fn, None, destination_config={"OnFailure": {"Destination": arn}}, **kwargs)
