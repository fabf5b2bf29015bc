"""The EventSourceMapping resource: configuration, validation with AWS's messages, lifecycle
states and metrics.

Everything that decides whether a mapping's configuration is valid lives here; how records are
read and invoked lives in ``queue_poller.py`` / ``stream_poller.py``. A mapping answers in state
``Creating`` and becomes ``Enabled`` (or ``Disabled``) after ``STATE_DELAY_S`` on the mesh clock;
updates pass through ``Updating`` and deletes through ``Deleting`` the same way.
https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import msgspec

from eventmesh.errors import ValidationException
from eventmesh.services.lambda_.errors import InvalidParameterValueException

__all__ = [
    "DEFAULT_SQS_MAX_CONCURRENCY",
    "EventSourceMapping",
    "MappingStatistics",
    "Poller",
    "STATE_DELAY_S",
]

# configuration ranges and defaults (API_CreateEventSourceMapping)
DEFAULT_BATCH_SIZE = {"sqs": 10, "kinesis": 100}
MAX_BATCH_SIZE = 10_000
MAX_FIFO_BATCH_SIZE = 10
MAX_BATCH_SIZE_WITHOUT_WINDOW = 10         # SQS standard: above 10 needs a window ≥ 1 s
MAX_BATCHING_WINDOW_S = 300
MAX_FILTERS = 5                            # quota (raisable to 10)
MIN_MAXIMUM_CONCURRENCY, MAX_MAXIMUM_CONCURRENCY = 2, 1_000
MAX_PARALLELIZATION_FACTOR = 10
MAX_STREAM_RETRY_ATTEMPTS = 10_000
MIN_RECORD_AGE_S, MAX_RECORD_AGE_S = 60, 604_800
MAX_TUMBLING_WINDOW_S = 900
# SQS scaling ceiling: 1,250 (launch blog) vs 1,000 (developer guide); configurable.
DEFAULT_SQS_MAX_CONCURRENCY = 1_250
STATE_DELAY_S = 0.0                        # Creating → Enabled etc. (AWS: a few seconds)
STARTING_POSITIONS = ("LATEST", "AT_TIMESTAMP", "TRIM_HORIZON")
# StateTransitionReason differs by source kind.
_USER_REASON = {"sqs": "USER_INITIATED", "kinesis": "User action"}


class Poller(Protocol):
    """What a mapping needs of its poller."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wake(self) -> None: ...


class MappingStatistics(msgspec.Struct, frozen=True):
    """AWS/Lambda metrics of one mapping, dimension EventSourceMappingUUID."""

    iterator_age: int                 # ms, streams: age of the oldest outstanding batch's last record
    offset_lag: int                   # records read from the source not yet checkpointed
    polled_event_count: int
    filtered_out_event_count: int
    invoked_event_count: int
    failed_invoke_event_count: int
    dropped_event_count: int
    deleted_event_count: int
    on_failure_destination_delivered_event_count: int
    destination_delivery_failures: int
    throttles: int
    concurrent_batches: int

    counters: ClassVar[frozenset[str]] = frozenset({
        "polled_event_count", "filtered_out_event_count", "invoked_event_count",
        "failed_invoke_event_count", "dropped_event_count", "deleted_event_count",
        "on_failure_destination_delivered_event_count", "destination_delivery_failures", "throttles",
    })
    units: ClassVar[dict[str, str]] = {"iterator_age": "milliseconds"}
    extras: ClassVar[frozenset[str]] = frozenset({"concurrent_batches"})


class MappingShardStatistics(msgspec.Struct, frozen=True):
    """A stream mapping's IteratorAge and OffsetLag for one shard (CloudWatch reports them per
    mapping only; per shard they show which shard holds the mapping back)."""

    iterator_age: int                 # ms
    offset_lag: int
    units: ClassVar[dict[str, str]] = {"iterator_age": "milliseconds"}
    helps: ClassVar[dict[str, str]] = {
        "iterator_age": "CloudWatch AWS/Lambda IteratorAge of one shard of a stream mapping (eventmesh splits "
                        "CloudWatch's per-mapping figure by shard; seconds here)",
        "offset_lag": "CloudWatch AWS/Lambda OffsetLag of one shard of a stream mapping (records)"}


class MappingShard:
    """One shard as a stream mapping reads it, a metric source made at scrape time."""

    metric_namespace = "AWS/Lambda/EventSourceMappingShard"

    def __init__(self, dimensions: dict[str, str], shard_id: str, age_ms: int, lag: int) -> None:
        self._dimensions = {**dimensions, "ShardId": shard_id}
        self._stats = MappingShardStatistics(age_ms, lag)

    def metric_dimensions(self) -> dict[str, str]:
        return self._dimensions

    def statistics(self) -> MappingShardStatistics:
        return self._stats


def _name_of(arn: str) -> str:
    """``...:function:name[:qualifier]`` → name, ``...:stream/name`` → name, ``...:queue`` → queue."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[5] == "function":
        return parts[6]
    return parts[-1].rsplit("/", 1)[-1]


def source_kind(arn: str) -> str:
    """``sqs`` or ``kinesis`` from the event source ARN."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] in ("sqs", "kinesis"):
        return parts[2]
    raise InvalidParameterValueException("Unrecognized event source.")


def _bad(message: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(message)


class EventSourceMapping:
    """One mapping: its configuration (AWS member names as attributes), state and counters."""

    metric_namespace = "AWS/Lambda"

    def __init__(self, mesh: Any, uuid: str, kind: str, source_arn: str, function_arn: str) -> None:
        self.mesh = mesh
        self.uuid = uuid
        self.arn = mesh.arn("lambda", f"event-source-mapping:{uuid}")
        self.kind = kind
        self.source_arn = source_arn
        self.function_arn = function_arn
        self.state = "Creating"
        self.last_modified = mesh.clock.now()
        self.last_processing_result = "No records processed"
        self.batch_size = DEFAULT_BATCH_SIZE[kind]
        self.window_s = 0
        self.enabled = True
        self.filters: list[str] = []
        self.matchers: list[Any] = []
        self.report_failures = False
        self.max_concurrency: int | None = None
        self.starting_position: str | None = None
        self.starting_timestamp: float | None = None
        self.parallelization = 1
        self.bisect = False
        self.max_retries = -1
        self.max_record_age_s = -1
        self.tumbling_window_s = 0
        self.on_failure: str | None = None
        self.metrics_config: list[str] = []
        self.poller: Poller | None = None
        self._timer: Any = None
        # counters (read by statistics())
        self.polled = self.filtered_out = self.invoked = self.failed_invoke = 0
        self.dropped = self.deleted = self.destination_delivered = self.destination_failures = 0
        self.throttles = 0

    # -- configuration -------------------------------------------------------------------------

    def configure(self, params: dict[str, Any], *, creating: bool, fifo: bool = False) -> None:
        """Apply Create/Update members (model names) after checking them; nothing changes on error."""
        kind = self.kind
        batch_size = params.get("BatchSize", self.batch_size)
        window = params.get("MaximumBatchingWindowInSeconds", self.window_s)
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise _bad(f"BatchSize must be between 1 and {MAX_BATCH_SIZE}.")
        if not 0 <= window <= MAX_BATCHING_WINDOW_S:
            raise _bad(f"MaximumBatchingWindowInSeconds must be between 0 and {MAX_BATCHING_WINDOW_S}.")
        if kind == "sqs" and fifo and batch_size > MAX_FIFO_BATCH_SIZE:
            raise _bad(f"Batch size for FIFO queues must be between 1 and {MAX_FIFO_BATCH_SIZE}.")
        if kind == "sqs" and batch_size > MAX_BATCH_SIZE_WITHOUT_WINDOW and window <= 0:
            raise _bad("Maximum batch window in seconds must be greater than 0 if maximum batch size "
                       "is greater than 10")
        filters = self.filters
        if "FilterCriteria" in params:
            filters = [f.get("Pattern", "") for f in (params["FilterCriteria"] or {}).get("Filters") or []]
        matchers = compile_filters(filters, kind) if filters is not self.filters else self.matchers
        types = params.get("FunctionResponseTypes")
        if types is not None and any(t != "ReportBatchItemFailures" for t in types):
            raise _bad("Unsupported FunctionResponseTypes value.")
        concurrency = self.max_concurrency
        if "ScalingConfig" in params:
            concurrency = (params["ScalingConfig"] or {}).get("MaximumConcurrency")
            if kind != "sqs" and concurrency is not None:
                raise _bad("Unsupported MaximumConcurrency parameter for non-SQS event source.")
            low, high = MIN_MAXIMUM_CONCURRENCY, MAX_MAXIMUM_CONCURRENCY
            if concurrency is not None and not low <= concurrency <= high:
                raise _bad(f"MaximumConcurrency must be between {MIN_MAXIMUM_CONCURRENCY} and "
                           f"{MAX_MAXIMUM_CONCURRENCY}.")
        if kind == "kinesis":
            self._configure_stream(params, creating)
        elif creating and params.get("StartingPosition") is not None:
            raise _bad("Unsupported starting position for arn type: sqs")
        self.batch_size, self.window_s = batch_size, window
        self.filters, self.matchers = filters, matchers
        if types is not None:
            self.report_failures = "ReportBatchItemFailures" in types
        self.max_concurrency = concurrency
        if "Enabled" in params:
            self.enabled = bool(params["Enabled"])
        if "MetricsConfig" in params:
            self.metrics_config = list((params["MetricsConfig"] or {}).get("Metrics") or [])
        self.last_modified = self.mesh.clock.now()

    def _configure_stream(self, params: dict[str, Any], creating: bool) -> None:
        if creating:
            position = params.get("StartingPosition")
            if position is None:
                raise ValidationException(
                    "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
                    "constraint: Member must not be null.")
            if position not in STARTING_POSITIONS:
                raise ValidationException(
                    f"1 validation error detected: Value '{position}' at 'startingPosition' failed to "
                    "satisfy constraint: Member must satisfy enum value set: "
                    "[LATEST, AT_TIMESTAMP, TRIM_HORIZON]")
            timestamp = params.get("StartingPositionTimestamp")
            if position == "AT_TIMESTAMP":
                if timestamp is None:
                    raise _bad("StartingPositionTimestamp must be provided with AT_TIMESTAMP "
                               "starting position.")
                if timestamp > self.mesh.clock.now():
                    raise _bad("StartingPositionTimestamp cannot be in the future.")
            self.starting_position, self.starting_timestamp = position, timestamp
        factor = params.get("ParallelizationFactor", self.parallelization)
        retries = params.get("MaximumRetryAttempts", self.max_retries)
        age = params.get("MaximumRecordAgeInSeconds", self.max_record_age_s)
        tumbling = params.get("TumblingWindowInSeconds", self.tumbling_window_s)
        if not 1 <= factor <= MAX_PARALLELIZATION_FACTOR:
            raise _bad(f"ParallelizationFactor must be between 1 and {MAX_PARALLELIZATION_FACTOR}.")
        if not -1 <= retries <= MAX_STREAM_RETRY_ATTEMPTS:
            raise _bad(f"MaximumRetryAttempts must be between -1 and {MAX_STREAM_RETRY_ATTEMPTS}.")
        if age != -1 and not MIN_RECORD_AGE_S <= age <= MAX_RECORD_AGE_S:
            raise _bad(f"MaximumRecordAgeInSeconds must be -1 or between {MIN_RECORD_AGE_S} and "
                       f"{MAX_RECORD_AGE_S}.")
        if not 0 <= tumbling <= MAX_TUMBLING_WINDOW_S:
            raise _bad(f"TumblingWindowInSeconds must be between 0 and {MAX_TUMBLING_WINDOW_S}.")
        destination = self.on_failure
        if "DestinationConfig" in params:
            config = params["DestinationConfig"] or {}
            if config.get("OnSuccess"):
                raise _bad("Unsupported DestinationConfig parameter for given event source mapping type.")
            destination = (config.get("OnFailure") or {}).get("Destination") or None
            if destination is not None and destination.split(":")[2:3] not in (["sqs"], ["sns"], ["s3"]):
                raise _bad("The provided destination config DestinationConfig.OnFailure.Destination "
                           "is invalid.")
        self.parallelization, self.max_retries = factor, retries
        self.max_record_age_s, self.tumbling_window_s = age, tumbling
        self.bisect = bool(params.get("BisectBatchOnFunctionError", self.bisect))
        self.on_failure = destination

    # -- lifecycle -----------------------------------------------------------------------------

    def transition(self, through: str) -> None:
        """Enter ``through`` (Creating/Updating/Enabling/Disabling) now and settle after the delay."""
        self.state = through
        self.mesh.clock.cancel(self._timer)
        self._timer = self.mesh.clock.call_later(STATE_DELAY_S, self._settle)

    def _settle(self) -> None:
        self._timer = None
        if self.state == "Deleting":
            self.mesh.remove(self.arn)
            return
        self.state = "Enabled" if self.enabled else "Disabled"
        if self.poller is not None:
            if self.enabled:
                self.poller.start()
            else:
                self.poller.stop()

    def close(self) -> None:
        """Called by ``mesh.remove``: the poller stops and forgets its in-flight work."""
        self.mesh.clock.cancel(self._timer)
        self._timer = None
        if self.poller is not None:
            self.poller.stop()
        registry = getattr(self, "registry", None)
        if registry is not None:
            registry.forget(self)

    @property
    def active(self) -> bool:
        return self.state == "Enabled"

    # -- documents and metrics -----------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        """``EventSourceMappingConfiguration`` in the botocore model's member names."""
        doc: dict[str, Any] = {
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.window_s,
            "EventSourceArn": self.source_arn,
            "FunctionArn": self.function_arn,
            "LastModified": self.last_modified,
            "State": self.state,
            "StateTransitionReason": _USER_REASON[self.kind],
            "FunctionResponseTypes": ["ReportBatchItemFailures"] if self.report_failures else [],
            "EventSourceMappingArn": self.arn,
        }
        if self.filters:
            doc["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in self.filters]}
        if self.max_concurrency is not None:
            doc["ScalingConfig"] = {"MaximumConcurrency": self.max_concurrency}
        if self.metrics_config:
            doc["MetricsConfig"] = {"Metrics": list(self.metrics_config)}
        if self.kind == "kinesis":
            doc.update({
                "StartingPosition": self.starting_position,
                "ParallelizationFactor": self.parallelization,
                "BisectBatchOnFunctionError": self.bisect,
                "MaximumRetryAttempts": self.max_retries,
                "MaximumRecordAgeInSeconds": self.max_record_age_s,
                "TumblingWindowInSeconds": self.tumbling_window_s,
                "DestinationConfig": {"OnFailure": ({"Destination": self.on_failure}
                                                    if self.on_failure else {})},
                "LastProcessingResult": self.last_processing_result,
            })
            if self.starting_timestamp is not None:
                doc["StartingPositionTimestamp"] = self.starting_timestamp
        return doc

    def metric_dimensions(self) -> dict[str, str]:
        """CloudWatch's dimension (the UUID), and beside it the names a person reads."""
        return {"EventSourceMappingUUID": self.uuid, "FunctionName": _name_of(self.function_arn),
                "EventSourceName": _name_of(self.source_arn)}

    def metric_sources(self) -> list[object]:
        """The mapping, and for a stream each shard it reads (IteratorAge per shard)."""
        poller = self.poller
        shard_gauges = getattr(poller, "shard_gauges", None)
        if shard_gauges is None:
            return [self]
        dims = self.metric_dimensions()
        return [self, *(MappingShard(dims, shard_id, age, lag) for shard_id, age, lag in shard_gauges())]

    def statistics(self) -> MappingStatistics:
        poller = self.poller
        age, lag, busy = poller.gauges() if poller is not None else (0, 0, 0)  # type: ignore[attr-defined]
        return MappingStatistics(age, lag, self.polled, self.filtered_out, self.invoked,
                                 self.failed_invoke, self.dropped, self.deleted,
                                 self.destination_delivered, self.destination_failures,
                                 self.throttles, busy)


def compile_filters(patterns: list[str], kind: str) -> list[Any]:
    """Check and compile ``FilterCriteria`` patterns; the record matches if any matches."""
    from eventmesh.services.esm.filters import compile_filter

    if len(patterns) > MAX_FILTERS:
        raise _bad("Invalid filter pattern definition.")
    return [compile_filter(p, kind) for p in patterns]
