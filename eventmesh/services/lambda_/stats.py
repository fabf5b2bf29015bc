"""Per-function metrics: plain counters on the core, read at scrape time.

Field names are the CloudWatch metric names in snake_case; ``counters`` names the monotonic ones.
``duration`` and ``async_event_age`` are histograms in seconds (Prometheus convention; CloudWatch
reports them in milliseconds).
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from eventmesh.histogram import HistogramSnapshot

__all__ = ["FunctionStatistics", "DURATION_BUCKETS_S",
           "EVENT_AGE_BUCKETS_S"]

DURATION_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                      60.0, 300.0, 900.0)
EVENT_AGE_BUCKETS_S = (0.1, 1.0, 10.0, 60.0, 300.0, 900.0, 1_800.0, 3_600.0, 10_800.0, 21_600.0)


class FunctionStatistics(msgspec.Struct, frozen=True):
    """One function's Lambda metrics (dimension ``FunctionName``)."""

    invocations: int
    errors: int
    throttles: int
    duration: HistogramSnapshot
    concurrent_executions: int
    dead_letter_errors: int
    destination_delivery_failures: int
    async_events_received: int
    async_event_age: HistogramSnapshot
    async_events_dropped: int
    cold_starts: int            # eventmesh extra: environments created
    async_queue_depth: int      # eventmesh extra: events waiting (queued or backing off)
    # Provisioned concurrency (provisioned.py): executions on it now, invocations that ran on it
    # and those that spilled over to on-demand environments while all of it was in use.
    provisioned_concurrent_executions: int = 0
    provisioned_concurrency_invocations: int = 0
    provisioned_concurrency_spillover_invocations: int = 0
    # Function URL requests (urls.py), all of them and those answered 4xx and 5xx.
    url_request_count: int = 0
    url4xx_count: int = 0
    url5xx_count: int = 0
    counters: ClassVar[frozenset[str]] = frozenset({
        "invocations", "errors", "throttles", "dead_letter_errors", "destination_delivery_failures",
        "async_events_received", "async_events_dropped", "cold_starts", "provisioned_concurrency_invocations",
        "provisioned_concurrency_spillover_invocations", "url_request_count", "url4xx_count", "url5xx_count"})
    units: ClassVar[dict[str, str]] = {"duration": "seconds", "async_event_age": "seconds"}
    extras: ClassVar[frozenset[str]] = frozenset({"cold_starts", "async_queue_depth"})
