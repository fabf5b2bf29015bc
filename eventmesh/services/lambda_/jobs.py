"""An invocation as the pool core tracks it, and the payloads Lambda's runtime gives for errors.

The core never runs python or http handlers itself: it emits ``effects.RunInvocation`` and a
runner (``drivers/lambda_/runner.py``: worker processes in real time, inline in virtual time)
executes its ``InvocationJob`` and answers with a ``HandlerOutcome`` (both in ``effects.py``:
plain msgspec Structs, so they travel to a worker process as msgpack).
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from eventmesh.effects import HandlerOutcome

__all__ = ["Invocation", "LazyEvent", "RESPONSE_TOO_LARGE_ERROR_TYPE", "TIMEOUT_ERROR_TYPE", "error_payload",
           "response_too_large", "timeout_outcome"]

TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"
RESPONSE_TOO_LARGE_ERROR_TYPE = "Function.ResponseSizeTooLarge"


class LazyEvent:
    """A poller's event, encoded the first time it is read (:meth:`data`). A synthetic
    (``model:``) handler reads only how many records it holds, so a simulation of one never
    encodes it; every other reader reads it as the invocation starts, within the poller's call
    to ``invoke_batch``, so the bytes are those of that instant, as if encoded before."""

    __slots__ = ("_build", "_data", "records")

    def __init__(self, build: Callable[[], bytes], records: int) -> None:
        self._build: Callable[[], bytes] | None = build
        self._data = b""
        self.records = records

    def data(self) -> bytes:
        if self._build is not None:
            self._data, self._build = self._build(), None   # what it read is let go
        return self._data


class Invocation(msgspec.Struct):
    """One invocation request as the core tracks it (an async event keeps it across attempts).
    ``payload`` is the request's bytes, except for a poller's batch whose event is ``lazy``:
    readers take :meth:`event`."""

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
    log_events: list[tuple[int, str]] | None = None   # what it wrote to CloudWatch Logs (kept for a tail)
    lazy: LazyEvent | None = None

    def event(self) -> bytes:
        """The request's bytes (a lazy event encoded now, once)."""
        return self.payload if self.lazy is None else self.lazy.data()


def error_payload(error_type: str, message: str, request_id: str,
                  stack: list[str] | None = None) -> bytes:
    """The Python runtime's error object."""
    return msgspec.json.encode({"errorMessage": message, "errorType": error_type,
                                "requestId": request_id, "stackTrace": stack or []})


def timeout_outcome(request_id: str, timeout_s: float, log: str = "") -> HandlerOutcome:
    """``Task timed out after 1.00 seconds``."""
    message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
    payload = msgspec.json.encode({"errorType": TIMEOUT_ERROR_TYPE, "errorMessage": message})
    return HandlerOutcome(payload, TIMEOUT_ERROR_TYPE, message, timeout_s, log)


def response_too_large(size: int, limit: int) -> tuple[bytes, str]:
    """The error a function's response over the synchronous payload limit becomes: its payload
    and message (``Function.ResponseSizeTooLarge``, whatever the runtime)."""
    message = f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({limit} bytes)."
    return msgspec.json.encode({"errorType": RESPONSE_TOO_LARGE_ERROR_TYPE, "errorMessage": message}), message
