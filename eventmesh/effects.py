"""Every effect a core emits, as plain data: the closed set the mesh and the drivers carry out.

Cores never call the next stage or do I/O: they append effects to ``mesh.outbox``. The mesh
carries out the ones that stay in process (a delivery to another core) and hands the rest to the
subscribers a driver registered (long-poll wake-ups, HTTP requests, handler runs in workers).

Effects hold no closures, so any of them can be framed (msgpack, tagged by class name) and sent to
another process. An effect that wants an answer carries ``reply_to``: a token the emitter got from
:meth:`eventmesh.mesh.Mesh.expect`; whoever carries the effect out answers with
:meth:`~eventmesh.mesh.Mesh.reply` (``0``: nobody listens).

    Effect = Deliver | Available | HttpRequest | RunInvocation | LogEvents
    answers:  Deliver → DeliveryResult · HttpRequest → HttpResponse · RunInvocation → HandlerOutcome
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

__all__ = [
    "DELIVERED",
    "Available",
    "Deliver",
    "Delivery",
    "DeliveryResult",
    "Effect",
    "HandlerOutcome",
    "HttpRequest",
    "HttpResponse",
    "InvocationJob",
    "LogEvents",
    "Outcome",
    "RunInvocation",
]


class Outcome(enum.IntEnum):
    """How a delivery went, decided by the target that took (or refused) it.

    Consumers decide what to do from the kind alone (retry, dead-letter, give up): no consumer
    keeps a table of other services' error spellings. ``DELIVERED`` is 0, so hot paths may test
    ``not result.kind`` for success.
    """

    DELIVERED = 0
    MISSING = 1      # the target does not exist (never created, or deleted)
    DENIED = 2       # no permission (a KMS key, a resource policy): permanent
    INVALID = 3      # the target refuses this payload for good (too large, malformed): permanent
    THROTTLED = 4    # over a rate or concurrency limit: retry later
    TIMEOUT = 5      # no answer in time: retry
    FAILED = 6       # any other transient failure (a 5xx, a refused connection): retry

    @property
    def retryable(self) -> bool:
        return self >= Outcome.THROTTLED


class Delivery(msgspec.Struct):
    """One message handed to a target core (an SQS message, a Lambda event, a stream record...).

    ``attributes`` uses the SQS MessageAttributes shape
    (``{"Name": {"DataType": "String", "StringValue": "v"}}``), which SNS and Lambda
    destinations map from their own shapes. ``trace_header`` is the X-Ray trace header the
    sender was called with (SQS keeps it as the ``AWSTraceHeader`` system attribute).

    ``json_text`` is the sender's word that it wrote ``body`` with a JSON encoder (an EventBridge
    event envelope, an SNS notification): JSON text holds control characters only escaped, so a
    target that refuses raw control characters (SQS) need not look at each byte of an ASCII body.
    A sender that passes on text it did not encode (an Input template, a raw message) leaves it
    False.
    """

    body: str
    attributes: dict[str, Any] = {}
    group_id: str | None = None
    deduplication_id: str | None = None
    partition_key: str | None = None
    trace_header: str | None = None
    json_text: bool = False


class DeliveryResult(msgspec.Struct, frozen=True):
    """How a delivery went: ``kind`` for the consumer's decision, ``code`` (the target's own AWS
    error code) and ``message`` for what it records (a DLQ's error attributes, a metric)."""

    kind: Outcome = Outcome.DELIVERED
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.kind is Outcome.DELIVERED

    @property
    def retryable(self) -> bool:
        return self.kind.retryable


DELIVERED = DeliveryResult()


class Deliver(msgspec.Struct, tag=True):
    """Deliver ``items`` to the resource at ``target_arn``; the mesh answers ``reply_to`` with a
    :class:`DeliveryResult`."""

    target_arn: str
    items: list[Delivery]
    source_arn: str = ""
    reply_to: int = 0


class Available(msgspec.Struct, tag=True):
    """The resource at ``arn`` has something to receive (wakes long polls and pollers)."""

    arn: str


class HttpRequest(msgspec.Struct, tag=True):
    """One HTTP request to an endpoint outside the engine (an SNS HTTP/S subscription, an
    EventBridge API destination); the driver's HTTP client answers ``reply_to`` with an
    :class:`HttpResponse` (in virtual time a test double does)."""

    url: str
    method: str
    headers: dict[str, str]
    body: str
    timeout_s: float
    reply_to: int = 0


class HttpResponse(msgspec.Struct, frozen=True):
    """How one HTTP request went: ``status`` None when no response came (refused, reset, timed out)."""

    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class InvocationJob(msgspec.Struct, frozen=True):
    """One invocation of a python, runtime-API or http handler, with the context Lambda gives
    the code. Invocations with the same function, version and ``revision_id`` may share an
    execution environment (a worker process); any other never does."""

    kind: str                  # "python" | "runtime" | "http"
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
    runtime: str = ""          # the function's Runtime ("python3.12", "nodejs20.x", "provided.al2023")
    handler: str = ""          # the function's Handler setting as configured (_HANDLER)
    revision_id: str = ""      # the version's configuration revision: environments never outlive it
    role: str = ""             # the execution role (whose credentials the code gets)
    log_format: str = ""       # LoggingConfig LogFormat "JSON" (else the runtime's text format)
    log_level: str = ""        # with JSON: the application log level (AWS_LAMBDA_LOG_LEVEL)
    layer_dirs: tuple[str, ...] = ()   # where the runner extracted the function's layers, in order


class HandlerOutcome(msgspec.Struct):
    """The result of running a handler: ``error_type`` is ``None`` on success.

    ``system_error`` marks a failure of the platform rather than of the code (an http handler
    that cannot be reached): the core retries those like throttles. ``log`` is what the code
    wrote during the invocation, ``init_log`` what it wrote while its environment started (a
    cold start, ``init_duration_s`` > 0); ``log_stream`` names the environment's log stream
    when the runner chose it, ``max_memory_mb`` its measured peak (0: not measured).
    """

    payload: bytes
    error_type: str | None = None
    error_message: str | None = None
    duration_s: float = 0.0
    log: str = ""
    system_error: bool = False
    init_duration_s: float = 0.0
    init_log: str = ""
    log_stream: str = ""
    max_memory_mb: int = 0


class RunInvocation(msgspec.Struct, tag=True):
    """Run ``job`` (with the function's zip ``code``, if any, and its layers' zips as
    ``(sha256, zip)`` in the function's order) and answer ``reply_to`` with a
    :class:`HandlerOutcome`, once."""

    job: InvocationJob
    code: bytes | None
    reply_to: int = 0
    layers: tuple[tuple[str, bytes], ...] = ()


class LogEvents(msgspec.Struct, tag=True):
    """Append ``events`` (``(timestamp_ms, message)`` in order) to the log stream ``stream`` of
    the log group ``group`` in ``account_id`` / ``region``, creating both when missing, as
    Lambda's log agent does for a function's output. Nobody answers."""

    account_id: str
    region: str
    group: str
    stream: str
    events: list[tuple[int, str]]


Effect = Deliver | Available | HttpRequest | RunInvocation | LogEvents
