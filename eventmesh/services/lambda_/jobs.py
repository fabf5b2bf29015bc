"""What crosses from the pool core to whatever runs user code, and back.

The core never runs python or http handlers itself: it emits :class:`RunInvocation` and a runner
(``drivers/lambda_/runner.py``: worker processes in real time, inline in virtual time) executes the
:class:`InvocationJob` and calls ``done`` with a :class:`HandlerOutcome`. The job is a plain
msgspec Struct so it can travel to a worker process as msgpack.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

__all__ = ["InvocationJob", "HandlerOutcome", "RunInvocation", "Invocation",
           "TIMEOUT_ERROR_TYPE", "timeout_outcome", "error_payload"]

TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"   # §3.1


class InvocationJob(msgspec.Struct, frozen=True):
    """One invocation of a python or http handler, with the context Lambda gives the code."""

    kind: str                  # "python" | "http"
    target: str                # "module:function", zip handler "file.function", or a URL
    payload: bytes
    request_id: str
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_mb: int
    timeout_s: float
    region: str
    account_id: str
    environment: dict[str, str] = {}
    code_sha256: str = ""      # set for uploaded zips: the runner extracts the package once per sha
    code_dir: str = ""         # where the runner extracted the package (set by the runner)
    log_group: str = ""
    log_stream: str = ""
    deadline: float = 0.0      # epoch seconds on the caller's clock (remaining-time of the context)


class HandlerOutcome(msgspec.Struct):
    """The result of running a handler: ``error_type`` is ``None`` on success.

    ``system_error`` marks a failure of the platform rather than of the code (an http handler
    that cannot be reached): the core retries those like throttles (§4.2 regime 2).
    """

    payload: bytes
    error_type: str | None = None
    error_message: str | None = None
    duration_s: float = 0.0
    log: str = ""
    system_error: bool = False


class RunInvocation(msgspec.Struct):
    """Effect: run ``job`` and call ``done(outcome)`` once, on the engine's thread."""

    job: InvocationJob
    code: bytes | None
    done: Callable[[HandlerOutcome], None]


class Invocation(msgspec.Struct):
    """One invocation request as the core tracks it (an async event keeps it across attempts)."""

    payload: bytes
    qualifier: str                   # as invoked: "$LATEST", a version number or an alias
    on_done: Callable[..., None] | None = None   # synchronous caller or poller
    is_async: bool = False
    enqueued_at: float = 0.0
    request_id: str | None = None    # drawn lazily: only records, contexts and replies need it
    version: object = None           # the FunctionVersion that ran it last
    attempts: int = 0                # times the code ran (approximateInvokeCount)
    throttles: int = 0               # throttle / system-error retries so far (back-off exponent)
    started_at: float = 0.0
    cold: bool = False
    response: bytes | None = None
    error_type: str | None = None    # None: success
    error_message: str | None = None
    duration_s: float = 0.0
    log: str | None = None
    log_tail: bool = False
    system_error: bool = False


def error_payload(error_type: str, message: str, request_id: str,
                  stack: list[str] | None = None) -> bytes:
    """The Python runtime's error object (§3.1)."""
    return msgspec.json.encode({"errorMessage": message, "errorType": error_type,
                                "requestId": request_id, "stackTrace": stack or []})


def timeout_outcome(request_id: str, timeout_s: float, log: str = "") -> HandlerOutcome:
    """``Task timed out after 1.00 seconds`` (§3.1)."""
    message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
    payload = msgspec.json.encode({"errorType": TIMEOUT_ERROR_TYPE, "errorMessage": message})
    return HandlerOutcome(payload, TIMEOUT_ERROR_TYPE, message, timeout_s, log)
