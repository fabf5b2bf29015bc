"""Helpers for event source mapping tests: a scripted function that records every batch."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import msgspec

from eventmesh.services.lambda_.jobs import LazyEvent
from eventmesh.services.lambda_.pool import InvokeResult


class ScriptedFunction:
    """Stands at a function ARN and answers ``invoke_batch`` like ``lambda_.function.Function``:
    ``respond(event) -> (payload_bytes, function_error)``; runs ``duration_s`` on the mesh clock;
    ``concurrency`` caps batches in flight (beyond it: throttled); ``throttled`` forces throttles."""

    def __init__(self, mesh: Any, name: str = "fn", *, timeout_s: float = 3.0, duration_s: float = 1.0,
                 concurrency: int | None = None,
                 respond: Callable[[dict[str, Any]], tuple[bytes, str | None]] | None = None) -> None:
        self.mesh = mesh
        self.arn = mesh.arn("lambda", f"function:{name}")
        self.timeout_s = timeout_s
        self.role = "arn:aws:iam::000000000000:role/lambda-role"
        self.duration_s = duration_s
        self.concurrency = concurrency
        self.throttled = False
        self.respond = respond or (lambda event: (b"null", None))
        self.batches: list[dict[str, Any]] = []      # every event the code ran with
        self.started_at: list[float] = []
        self.throttles = 0
        self.inflight = 0
        self.max_inflight = 0
        mesh.add(self)

    def invoke_batch(self, payload: bytes | LazyEvent, on_done: Callable[[InvokeResult], None], source_arn: str,
                     qualifier: str | None = None) -> bool:
        if self.throttled or (self.concurrency is not None and self.inflight >= self.concurrency):
            self.throttles += 1
            return False
        # Read as a function starting reads it: now (a lazy event is encoded as the code starts).
        event = msgspec.json.decode(payload.data() if isinstance(payload, LazyEvent) else payload)
        self.batches.append(event)
        self.started_at.append(self.mesh.clock.now())
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        response, error = self.respond(event)

        def finish() -> None:
            self.inflight -= 1
            on_done(InvokeResult(response, error, "Error" if error else None))

        self.mesh.clock.call_later(self.duration_s, finish)
        return True


def kinesis_keys(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(partitionKey, data) of each record of a Kinesis event."""
    return [(r["kinesis"]["partitionKey"], base64.b64decode(r["kinesis"]["data"]).decode())
            for r in event["Records"]]
