"""Python and http handlers: the core hands each invocation to a runner as an effect.

User code never runs inside the engine: :meth:`ExternalHandler.start` emits one
:class:`~eventmesh.effects.RunInvocation` per invocation and the runner installed on the mesh
(worker processes in real time, inline in virtual time; see ``drivers/lambda_/runner.py``)
answers its ``reply_to`` with a ``HandlerOutcome``, which completes the invocation in the core
(once: the mesh forgets a token when it is answered).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from eventmesh.effects import RunInvocation
from eventmesh.services.lambda_.jobs import Invocation

__all__ = ["ExternalHandler"]


class ExternalHandler:
    """Runs python (import path or zip) and http handlers through the mesh's runner."""

    def __init__(self, spec: Any, host: Any) -> None:
        self.spec = spec
        self.host = host

    def start(self, invocations: list[Invocation], now: float) -> None:
        host = self.host
        emit, expect, complete = host.emit, host.expect, host.complete_external
        zipped = self.spec.zipped
        code = host.config.code if zipped else None
        layers = tuple((r.code_sha256, r.code) for r in host.config.layers if r.code is not None) if zipped else ()
        for inv in invocations:
            emit(RunInvocation(host.job(inv, self.spec, now), code, expect(partial(complete, inv)), layers))
