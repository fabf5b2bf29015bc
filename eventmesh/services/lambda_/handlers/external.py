"""Python and http handlers: the core hands each invocation to a runner as an effect.

User code never runs inside the engine: :meth:`ExternalHandler.start` emits one
:class:`~eventmesh.services.lambda_.jobs.RunInvocation` per invocation and the runner installed on the
mesh (worker processes in real time, inline in virtual time; see ``drivers/lambda_/runner.py``) calls
back ``done(outcome)``, which completes the invocation in the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventmesh.services.lambda_.jobs import HandlerOutcome, RunInvocation

if TYPE_CHECKING:
    from eventmesh.services.lambda_.jobs import Invocation

__all__ = ["ExternalHandler"]


class ExternalHandler:
    """Runs python (import path or zip) and http handlers through the mesh's runner."""

    def __init__(self, spec: Any, host: Any) -> None:
        self.spec = spec
        self.host = host

    def start(self, invocations: list[Invocation], now: float) -> None:
        host = self.host
        emit = host.emit
        code = host.config.code if self.spec.zipped else None
        for inv in invocations:
            emit(RunInvocation(host.job(inv, self.spec, now), code, _Completion(host, inv)))


class _Completion:
    """``done`` of one RunInvocation: completes it once, ignores a second call."""

    __slots__ = ("host", "inv")

    def __init__(self, host: Any, inv: Invocation) -> None:
        self.host = host
        self.inv: Invocation | None = inv

    def __call__(self, outcome: HandlerOutcome) -> None:
        inv, self.inv = self.inv, None
        if inv is not None:
            self.host.complete_external(inv, outcome)
