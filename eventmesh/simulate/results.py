"""What a run leaves: ``summary.json``, ``metrics.csv`` (and, from ``report.py``, the HTML page
and its PNGs), and the same results in Python, with ``to_pandas()`` when pandas is installed.

``summary.json``::

    {"scenario", "seed", "variant", "parameters", "virtual_seconds", "wall_seconds", "events",
     "events_per_wall_second", "balanced",
     "metrics": [{"namespace", "metric", "dimensions": [{"Name", "Value"}], "statistic", "period",
                  "timestamps": [ISO 8601], "values": [...]}, ...],      # GetMetricData's shape
     "totals": [{"kind", "name", "sent", "delivered", "throttled", "failed", "dead_lettered",
                 "dropped_by_age", "to_destinations", "remaining", "balanced", "detail"}, ...],
     "faults": [{"id", "kind", "target", "start", "end"}], "topology": {"nodes", "edges"}}

A run is reproducible: the same scenario and seed write the same bytes everywhere but in the two
wall-clock fields (``wall_seconds``, ``events_per_wall_second``), which say how fast this machine
ran it. ``metrics.csv`` (long format) has no wall-clock field at all.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import msgspec

from eventmesh.simulate.sampling import Series
from eventmesh.simulate.topology import Topology
from eventmesh.simulate.totals import ResourceTotals

__all__ = ["CSV_COLUMNS", "RunResult", "SweepResult", "WALL_CLOCK_FIELDS"]

CSV_COLUMNS = ("time", "namespace", "metric", "dimensions", "statistic", "value")
WALL_CLOCK_FIELDS = ("wall_seconds", "events_per_wall_second")
_encoder = msgspec.json.Encoder(order="deterministic")


def _pretty(data: Any) -> bytes:
    return msgspec.json.format(_encoder.encode(data), indent=1) + b"\n"


class RunResult(msgspec.Struct, kw_only=True):
    """The results of one scenario variant."""

    scenario: str
    seed: int
    variant: str = ""
    parameters: dict[str, Any] = {}
    virtual_seconds: float
    wall_seconds: float
    events: int
    metrics: list[Series]
    totals: list[ResourceTotals]
    faults: list[dict[str, Any]] = []
    topology: Topology = msgspec.field(default_factory=lambda: Topology([], []))
    origin: float = 0.0
    period: float = 60.0

    @property
    def balanced(self) -> bool:
        """Every resource's totals balance (``totals.py``)."""
        return all(t.balanced for t in self.totals)

    @property
    def events_per_wall_second(self) -> float:
        return self.events / self.wall_seconds if self.wall_seconds else 0.0

    def summary(self) -> dict[str, Any]:
        """``summary.json`` as a mapping."""
        return {
            "scenario": self.scenario, "seed": self.seed, "variant": self.variant, "parameters": self.parameters,
            "virtual_seconds": self.virtual_seconds, "wall_seconds": self.wall_seconds, "events": self.events,
            "events_per_wall_second": round(self.events_per_wall_second, 1), "balanced": self.balanced,
            "metrics": msgspec.to_builtins(self.metrics), "totals": msgspec.to_builtins(self.totals),
            "faults": self.faults, "topology": msgspec.to_builtins(self.topology),
        }

    def series(self, metric: str, statistic: str | None = None, namespace: str | None = None,
               **dimensions: str) -> Series:
        """The one series of ``metric`` (and statistic, namespace, and exactly these dimensions if
        any are given) — KeyError if none or several match."""
        wanted = set(dimensions.items())
        found = [s for s in self.metrics if s.metric == metric and (statistic is None or s.statistic == statistic)
                 and (namespace is None or s.namespace == namespace)
                 and (not wanted or {(d["Name"], d["Value"]) for d in s.dimensions} == wanted)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} series match {metric} {statistic or ''} {dimensions}")
        return found[0]

    def total(self, kind: str, name: str) -> ResourceTotals:
        for row in self.totals:
            if row.kind == kind and row.name == name:
                return row
        raise KeyError(f"no totals for {kind} {name}")

    def csv_text(self) -> str:
        """``metrics.csv``: one row per datapoint, long format."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for s in self.metrics:
            dims = ";".join(f"{d['Name']}={d['Value']}" for d in s.dimensions)
            for stamp, value in zip(s.timestamps, s.values, strict=True):
                writer.writerow((stamp, s.namespace, s.metric, dims, s.statistic, repr(value)))
        return out.getvalue()

    def write(self, out: str | Path) -> list[Path]:
        """Write ``summary.json`` and ``metrics.csv`` into ``out``; returns the paths."""
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        summary, metrics = directory / "summary.json", directory / "metrics.csv"
        summary.write_bytes(_pretty(self.summary()))
        metrics.write_text(self.csv_text())
        return [summary, metrics]

    def to_pandas(self) -> Any:
        """The datapoints as a pandas DataFrame (time, namespace, metric, dimensions, statistic,
        value; time as UTC timestamps). Needs pandas (``pip install pandas``)."""
        try:
            import pandas as pd
        except ImportError:   # an optional dependency
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        rows = [(stamp, s.namespace, s.metric, ";".join(f"{d['Name']}={d['Value']}" for d in s.dimensions),
                 s.statistic, value)
                for s in self.metrics for stamp, value in zip(s.timestamps, s.values, strict=True)]
        frame = pd.DataFrame(rows, columns=list(CSV_COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return frame


class SweepResult(msgspec.Struct, kw_only=True):
    """The results of every variant of a sweep, in the order the sweep lists them."""

    scenario: str
    parameters: list[str]
    variants: list[RunResult]
    wall_seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        return all(v.balanced for v in self.variants)

    def summary(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "parameters": self.parameters, "wall_seconds": self.wall_seconds,
                "balanced": self.balanced,
                "variants": [{"variant": v.variant, "parameters": v.parameters, "events": v.events,
                              "wall_seconds": v.wall_seconds, "balanced": v.balanced,
                              "path": f"variants/{_slug(v.variant)}"} for v in self.variants]}

    def write(self, out: str | Path) -> list[Path]:
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for v in self.variants:
            written += v.write(directory / "variants" / _slug(v.variant))
        summary = directory / "summary.json"
        summary.write_bytes(_pretty(self.summary()))
        return [summary, *written]

    def to_pandas(self) -> Any:
        """Every variant's datapoints, with a ``variant`` column."""
        import pandas as pd

        frames = []
        for v in self.variants:
            frame = v.to_pandas()
            frame.insert(0, "variant", v.variant)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_=." else "_" for c in text) or "base"
