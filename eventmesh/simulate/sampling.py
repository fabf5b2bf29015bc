"""Metrics of a run: the cores' ``statistics()`` sampled on the mesh clock, as CloudWatch has them.

Every ``sample`` seconds of virtual time the sampler reads each resource's statistics (the same
counters ``/metrics`` exports) and at the end of each ``period`` turns them into datapoints with
CloudWatch's metric names, dimensions and statistics:

* a counter (``NumberOfMessagesSent``, ``Invocations``, ``Throttles``…) gives its ``Sum`` over the
  period;
* a gauge (``ApproximateNumberOfMessagesVisible``, ``ApproximateAgeOfOldestMessage``,
  ``ConcurrentExecutions``, ``IteratorAge``…) gives ``Average``, ``Maximum`` and ``Minimum`` of
  its samples in the period;
* a histogram (``Duration``, ``AsyncEventAge``, ``IngestionToInvocationStartLatency``) gives
  ``Average``, ``Minimum``, ``p50``, ``p90``, ``p99``, ``Maximum`` and ``SampleCount``, in
  milliseconds as CloudWatch reports them; the quantiles come from the histogram's sketch
  (buckets 1 % wide, exact for values that repeat: ``eventmesh.histogram``);
* ``SentMessageSize`` and ``PublishSize`` give the ``Average`` size of the period's messages.

Names: a statistics field in snake_case is the CloudWatch name (``get_records__iterator_age_
milliseconds`` → ``GetRecords.IteratorAgeMilliseconds``; a type's ``cloudwatch_names`` spells the
rest); Kinesis shard-level metrics are ``AWS/Kinesis`` with a ``ShardId`` dimension, as in
CloudWatch; the producers' own figures are ``EventMesh/Load`` with a ``Generator`` dimension.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html
"""

from __future__ import annotations

import fnmatch
import math
import time
from collections.abc import Callable
from typing import Any

import msgspec

from eventmesh.histogram import HistogramSnapshot, Sketch
from eventmesh.mesh import Mesh

__all__ = ["LOAD_NAMESPACE", "Sampler", "Series", "cloudwatch_name", "iso_time", "series_key"]

LOAD_NAMESPACE = "EventMesh/Load"
# The namespaces CloudWatch publishes, as the cores name them (Kinesis shard-level metrics are
# AWS/Kinesis with a ShardId dimension). Others are eventmesh's own (per-shard mapping series,
# the DLQ marker): /metrics exports them, a simulation's CloudWatch-shaped results do not.
_NAMESPACES = {"AWS/SQS": "AWS/SQS", "AWS/SNS": "AWS/SNS", "AWS/Lambda": "AWS/Lambda", "AWS/Events": "AWS/Events",
               "AWS/Kinesis": "AWS/Kinesis", "AWS/Kinesis/Shard": "AWS/Kinesis"}
_SECONDS_HISTOGRAMS = {("AWS/Lambda", "duration"), ("AWS/Lambda", "async_event_age")}
_AVERAGE_SIZES = {"sent_message_size": "number_of_messages_sent", "publish_size": "number_of_messages_published"}
GAUGE_STATISTICS = ("Average", "Maximum", "Minimum")
HISTOGRAM_STATISTICS = ("Average", "Minimum", "p50", "p90", "p99", "Maximum", "SampleCount")
_QUANTILES = (0.0, 0.50, 0.90, 0.99, 1.0)   # Minimum, p50, p90, p99, Maximum
_LOAD_COUNTERS = ("offered", "accepted", "throttled", "retried", "failed")
_LOAD_NAMES = {"offered": "EventsOffered", "accepted": "EventsAccepted", "throttled": "EntriesThrottled",
               "retried": "EntriesRetried", "failed": "EventsFailed", "retrying": "EventsRetrying"}


def cloudwatch_name(stats_type: type, field: str) -> str:
    """The CloudWatch name of a statistics field (see the module docstring)."""
    names: dict[str, str] = getattr(stats_type, "cloudwatch_names", {})
    if field in names:
        return names[field]
    return ".".join("".join(word[:1].upper() + word[1:] for word in part.split("_")) for part in field.split("__"))


def iso_time(t: float) -> str:
    """Epoch seconds → ISO 8601 UTC (CloudWatch's timestamps), millisecond precision."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(math.floor(t))) + f".{int(round((t % 1) * 1000)) % 1000:03d}Z"


class Series(msgspec.Struct):
    """One metric statistic over the run: GetMetricDataResult's shape with its query's parts."""

    namespace: str
    metric: str
    dimensions: list[dict[str, str]]
    statistic: str
    period: int
    timestamps: list[str] = []
    values: list[float] = []


class _Source:
    """What the sampler keeps of one resource between periods."""

    __slots__ = ("counters", "dims", "gauges", "histograms", "key", "last", "namespace", "resource", "stats_type")

    def __init__(self, resource: Any, namespace: str, dims: list[dict[str, str]], stats: Any) -> None:
        self.resource = resource
        self.namespace = namespace
        self.dims = dims
        self.key = (namespace, tuple((d["Name"], d["Value"]) for d in dims))
        self.stats_type = type(stats)
        self.last = stats                       # statistics at the start of the period
        self.gauges: dict[str, list[float]] = {}
        counters: frozenset[str] = getattr(type(stats), "counters", frozenset())
        self.counters = counters
        self.histograms = {f for f in stats.__struct_fields__ if isinstance(getattr(stats, f), HistogramSnapshot)}


class Sampler:
    """Samples a mesh's resources (and the generators) into :class:`Series` (module docstring)."""

    def __init__(self, mesh: Mesh, period_s: float, sample_s: float, include: tuple[str, ...] = (),
                 generators: list[Any] | None = None, *, exclude: Callable[[Any], bool] | None = None,
                 on_sample: Callable[[float], None] | None = None) -> None:
        """``exclude(resource)``: a source left out of the series; ``on_sample(now)``: called at
        the start and at every sample (a partition records its share of account-level state
        there, which the coordinator sums and samples as one: ``partitioned.py``)."""
        self.mesh = mesh
        self.exclude = exclude
        self.on_sample = on_sample
        self.clock = mesh.clock
        self.period_s = period_s
        self.sample_s = sample_s
        self.include = include
        self.generators = generators or []
        self.series: dict[tuple[Any, ...], Series] = {}
        self._sources: dict[int, _Source] = {}
        self._last_load: dict[str, dict[str, int]] = {}
        self._origin = 0.0
        self._end = 0.0
        self._period_start = 0.0
        self._ticks = 0
        self._per_period = max(1, round(period_s / sample_s))

    # -- scheduling --------------------------------------------------------------------------

    def start(self, origin: float, end: float) -> None:
        self._origin = self._period_start = origin
        self._end = end
        self._discover()
        if self.on_sample is not None:
            self.on_sample(origin)
        self.clock.call_at(origin + self.sample_s, self._tick)

    def _tick(self) -> None:
        self._ticks += 1
        now = self.clock.now()
        self._discover()
        if self.on_sample is not None:
            self.on_sample(now)
        for source in self._sources.values():
            stats = source.resource.statistics()
            for field in stats.__struct_fields__:
                if field in source.counters or field in source.histograms:
                    continue
                value = getattr(stats, field)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    source.gauges.setdefault(field, []).append(float(value))
        period_over = self._ticks % self._per_period == 0 or now >= self._end - 1e-9
        if period_over:
            self._close_period(now)
        following = self._origin + (self._ticks + 1) * self.sample_s
        if following <= self._end + 1e-9:
            self.clock.call_at(following, self._tick)
        elif now < self._end - 1e-9:
            self.clock.call_at(self._end, self._tick)

    def _discover(self) -> None:
        """Resources created since the last sample (a queue a config made mid-run) are added."""
        for owner in (*self.mesh.resources(), *self.mesh.states()):
            for resource in owner.metric_sources() if hasattr(owner, "metric_sources") else (owner,):
                if id(resource) in self._sources:
                    continue
                namespace = getattr(resource, "metric_namespace", None)
                statistics = getattr(resource, "statistics", None)
                if namespace not in _NAMESPACES or statistics is None:
                    continue
                if self.exclude is not None and self.exclude(resource):
                    continue
                dims = [{"Name": k, "Value": str(v)} for k, v in resource.metric_dimensions().items()]
                self._sources[id(resource)] = _Source(resource, _NAMESPACES[namespace], dims,
                                                      statistics())

    # -- datapoints --------------------------------------------------------------------------

    def _wanted(self, namespace: str, metric: str) -> bool:
        if not self.include:
            return True
        return any(fnmatch.fnmatchcase(f"{namespace}/{metric}", pattern) or fnmatch.fnmatchcase(metric, pattern)
                   for pattern in self.include)

    def _point(self, source_key: Any, namespace: str, metric: str, dims: list[dict[str, str]], statistic: str,
               timestamp: str, value: float) -> None:
        if not self._wanted(namespace, metric):
            return
        key = (namespace, metric, source_key, statistic)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series(namespace, metric, dims, statistic, int(round(self.period_s)), [], [])
        series.timestamps.append(timestamp)
        series.values.append(round(value, 6))

    def _close_period(self, now: float) -> None:
        stamp = iso_time(self._period_start)
        for source in self._sources.values():
            stats = source.resource.statistics()
            last = source.last
            namespace, dims, key = source.namespace, source.dims, source.key
            name = source.stats_type
            for field in stats.__struct_fields__:
                value = getattr(stats, field)
                metric = cloudwatch_name(name, field)
                if field in source.histograms:
                    self._histogram(key, namespace, metric, dims, stamp, value, getattr(last, field),
                                    (namespace, field) in _SECONDS_HISTOGRAMS)
                elif field in _AVERAGE_SIZES and field in source.counters:
                    count_field = _AVERAGE_SIZES[field]
                    count = getattr(stats, count_field) - getattr(last, count_field)
                    size = value - getattr(last, field)
                    self._point(key, namespace, metric, dims, "Average", stamp, size / count if count else 0.0)
                elif field in source.counters:
                    self._point(key, namespace, metric, dims, "Sum", stamp, float(value - getattr(last, field)))
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    samples = source.gauges.get(field) or [float(value)]
                    self._point(key, namespace, metric, dims, "Average", stamp, sum(samples) / len(samples))
                    self._point(key, namespace, metric, dims, "Maximum", stamp, max(samples))
                    self._point(key, namespace, metric, dims, "Minimum", stamp, min(samples))
            source.gauges = {}
            source.last = stats
        for generator in self.generators:
            totals = msgspec.structs.asdict(generator.totals)
            last_load = self._last_load.get(generator.name, dict.fromkeys(totals, 0))
            dims = [{"Name": "Generator", "Value": generator.name}]
            key = (LOAD_NAMESPACE, (("Generator", generator.name),))
            for field in _LOAD_COUNTERS:
                self._point(key, LOAD_NAMESPACE, _LOAD_NAMES[field], dims, "Sum", stamp,
                            float(totals[field] - last_load[field]))
            self._point(key, LOAD_NAMESPACE, _LOAD_NAMES["retrying"], dims, "Maximum", stamp,
                        float(totals["retrying"]))
            self._last_load[generator.name] = totals
        self._period_start = now

    def _histogram(self, key: Any, namespace: str, metric: str, dims: list[dict[str, str]], stamp: str,
                   now: HistogramSnapshot, last: HistogramSnapshot, seconds: bool) -> None:
        counts = [a - b for a, b in zip(now.counts, last.counts, strict=False)]
        n = sum(counts)
        scale = 1000.0 if seconds else 1.0
        total = (now.sum - last.sum) * scale
        self._point(key, namespace, metric, dims, "SampleCount", stamp, float(n))
        if not n:
            for statistic in HISTOGRAM_STATISTICS[:-1]:
                self._point(key, namespace, metric, dims, statistic, stamp, 0.0)
            return
        self._point(key, namespace, metric, dims, "Average", stamp, total / n)
        if now.sketch is not None:
            values = _sketch_quantiles(now.sketch, last.sketch, n, _QUANTILES)
        else:   # fixed buckets only: linear within the bucket
            bounds = list(now.bounds)
            values = [_quantile(bounds, counts, n, q) for q in _QUANTILES]
        for statistic, value in zip(HISTOGRAM_STATISTICS[1:-1], values, strict=True):
            self._point(key, namespace, metric, dims, statistic, stamp, value * scale)

    def results(self) -> list[Series]:
        """Every series, sorted by namespace, metric, dimensions and statistic (a stable order)."""
        return sorted(self.series.values(), key=series_key)


def series_key(s: Series) -> tuple[Any, ...]:
    """The order of a run's series: namespace, metric, dimensions, statistic."""
    return (s.namespace, s.metric, [(d["Name"], d["Value"]) for d in s.dimensions], s.statistic)


def _sketch_quantiles(now: Sketch, last: Sketch | None, n: int, quantiles: tuple[float, ...]) -> list[float]:
    """The quantiles of the observations between two snapshots of a sketch, as CloudWatch's
    percentiles (nearest rank: pXX is a value that XX % of the period's values do not exceed).
    Within a bucket the values are spread between the least and greatest it ever held: exact
    when they are all equal, else within the bucket's 1 %."""
    before = last.counts if last is not None else {}
    keys = sorted(k for k, c in now.counts.items() if c != before.get(k, 0))
    out = []
    for q in quantiles:
        rank = min(n, max(1, math.ceil(q * n - 1e-9)))
        seen = 0
        for k in keys:
            count = now.counts[k] - before.get(k, 0)
            if seen + count >= rank:
                low, high = now.lows[k], now.highs[k]
                if count > 1:
                    position = (rank - seen - 1) / (count - 1)
                else:
                    position = 1.0 if q >= 1.0 else 0.0 if q <= 0.0 else 0.5
                out.append(low + (high - low) * position)
                break
            seen += count
    return out


def _quantile(bounds: list[float], counts: list[int], n: int, q: float) -> float:
    """The q-quantile of a bucketed distribution, linear within the bucket it falls in (the
    overflow bucket answers its lower bound: nothing above it is known)."""
    rank = q * n
    seen = 0
    for i, count in enumerate(counts):
        if not count:
            continue
        if seen + count >= rank:
            low = bounds[i - 1] if i > 0 else 0.0
            if i >= len(bounds):
                return low
            return low + (bounds[i] - low) * max(0.0, rank - seen) / count
        seen += count
    return bounds[-1] if bounds else 0.0
