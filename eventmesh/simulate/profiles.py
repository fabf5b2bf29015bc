"""Rate profiles: how many events per second a load generator offers at each virtual instant.

=========  ====================================================  ==========================================
profile    keys                                                  rate at time t (seconds from the start)
=========  ====================================================  ==========================================
constant   rate                                                  rate
poisson    rate                                                  rate, arrivals a Poisson process
step       steps: [{at, rate}, ...]                              rate of the last step at or before t
ramp       from, to, over, start (0)                             from → to linearly over [start, start+over]
sine       mean, amplitude, period (24h), phase (0)              mean + amplitude·sin(2π(t − phase)/period)
bursts     base, rate, every, length, start (0)                  rate during each burst, base between
csv        file, interpolate (step | linear)                     the file's ``time,rate`` rows
=========  ====================================================  ==========================================

Any profile takes ``arrivals: poisson`` (a non-homogeneous Poisson process of that rate) instead
of the default ``uniform`` (evenly spaced calls). A profile is pure data on the virtual time axis:
:meth:`Profile.rate` and :meth:`Profile.next_change`, which bounds how far a generator may step
before the rate may change (a step edge, a burst edge, a CSV row; a fraction of a period for the
smooth profiles), so call times stay exact for piecewise-constant profiles.
"""

from __future__ import annotations

import bisect
import csv
import math
from pathlib import Path
from typing import Any

from eventmesh.simulate.units import parse_duration

__all__ = ["PROFILES", "Profile", "parse_profile"]

SMOOTH_STEP_FRACTION = 1 / 2_000   # of a sine period or a ramp: the rate is re-read this often
MAX_SMOOTH_STEP_S = 1.0
_INF = math.inf


class Profile:
    """A rate over virtual time (events/s, never negative)."""

    poisson = False

    def rate(self, t: float) -> float:
        raise NotImplementedError

    def next_change(self, t: float) -> float:
        """The next time after ``t`` at which the rate may differ from ``rate(t)`` (inf: never)."""
        return _INF

    def mean_rate(self, duration_s: float) -> float:
        """The average rate over ``[0, duration_s]`` (progress and reports estimate with it)."""
        steps = 1_000
        return sum(self.rate(duration_s * (i + 0.5) / steps) for i in range(steps)) / steps


class Constant(Profile):
    def __init__(self, rate: float) -> None:
        self._rate = rate

    def rate(self, t: float) -> float:
        return self._rate

    def mean_rate(self, duration_s: float) -> float:
        return self._rate


class Step(Profile):
    def __init__(self, steps: list[tuple[float, float]]) -> None:
        self.times = [at for at, _ in steps]
        self.rates = [rate for _, rate in steps]

    def rate(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t) - 1
        return self.rates[i] if i >= 0 else 0.0

    def next_change(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t)
        return self.times[i] if i < len(self.times) else _INF


class Ramp(Profile):
    def __init__(self, low: float, high: float, over: float, start: float) -> None:
        self.low, self.high, self.over, self.start = low, high, over, start

    def rate(self, t: float) -> float:
        if t <= self.start:
            return self.low
        if t >= self.start + self.over:
            return self.high
        return self.low + (self.high - self.low) * (t - self.start) / self.over

    def next_change(self, t: float) -> float:
        if t < self.start:
            return self.start
        end = self.start + self.over
        if t >= end:
            return _INF
        return min(end, t + min(MAX_SMOOTH_STEP_S, self.over * SMOOTH_STEP_FRACTION))


class Sine(Profile):
    def __init__(self, mean: float, amplitude: float, period: float, phase: float) -> None:
        self.mean, self.amplitude, self.period, self.phase = mean, amplitude, period, phase

    def rate(self, t: float) -> float:
        return max(0.0, self.mean + self.amplitude * math.sin(2 * math.pi * (t - self.phase) / self.period))

    def next_change(self, t: float) -> float:
        return t + min(MAX_SMOOTH_STEP_S, self.period * SMOOTH_STEP_FRACTION)


class Bursts(Profile):
    def __init__(self, base: float, rate: float, every: float, length: float, start: float) -> None:
        self.base, self.burst, self.every, self.length, self.start = base, rate, every, length, start

    def rate(self, t: float) -> float:
        if t < self.start:
            return self.base
        return self.burst if (t - self.start) % self.every < self.length else self.base

    def next_change(self, t: float) -> float:
        if t < self.start:
            return self.start
        cycles, into = divmod(t - self.start, self.every)
        edge = self.length if into < self.length else self.every
        return self.start + cycles * self.every + edge


class Table(Profile):
    """Rates read from a CSV of ``time,rate`` rows (a header row is skipped)."""

    def __init__(self, times: list[float], rates: list[float], linear: bool) -> None:
        self.times, self.rates, self.linear = times, rates, linear

    def rate(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t) - 1
        if i < 0:
            return 0.0
        if not self.linear or i + 1 >= len(self.times):
            return self.rates[i]
        t0, t1 = self.times[i], self.times[i + 1]
        return self.rates[i] + (self.rates[i + 1] - self.rates[i]) * (t - t0) / (t1 - t0)

    def next_change(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t)
        if i >= len(self.times):
            return _INF
        if self.linear and i > 0:
            return min(self.times[i], t + MAX_SMOOTH_STEP_S)
        return self.times[i]


def _rate(value: Any, key: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        problems.append(f"{key}: must be a rate in events/s >= 0")
        return 0.0
    return float(value)


def _time(value: Any, key: str, problems: list[str], *, positive: bool = False) -> float:
    try:
        return parse_duration(value, allow_zero=not positive)
    except ValueError as exc:
        problems.append(f"{key}: {exc}")
        return 1.0


_KEYS = {
    "constant": {"rate"}, "poisson": {"rate"}, "step": {"steps"}, "ramp": {"from", "to", "over", "start"},
    "sine": {"mean", "amplitude", "period", "phase"}, "bursts": {"base", "rate", "every", "length", "start"},
    "csv": {"file", "interpolate"},
}
PROFILES = tuple(_KEYS)


def parse_profile(data: Any, where: str, problems: list[str], base_dir: Path | None = None) -> Profile:
    """A :class:`Profile` from a number (a constant rate) or a mapping; problems are appended as
    ``key.path: message`` under ``where``."""
    if not isinstance(data, dict):
        return Constant(_rate(data, where, problems))
    kind = data.get("profile", "constant")
    if kind not in _KEYS:
        problems.append(f"{where}.profile: must be one of {', '.join(PROFILES)}")
        return Constant(0.0)
    allowed = _KEYS[kind] | {"profile", "arrivals"}
    problems += [f"{where}.{key}: not a key of a {kind} profile (takes {', '.join(sorted(_KEYS[kind]))})"
                 for key in data if key not in allowed]
    arrivals = data.get("arrivals", "poisson" if kind == "poisson" else "uniform")
    if arrivals not in ("uniform", "poisson"):
        problems.append(f"{where}.arrivals: must be uniform or poisson")
    missing = [k for k in _KEYS[kind] if k not in data and k not in ("start", "phase", "period", "interpolate")]
    problems += [f"{where}.{key}: required by a {kind} profile" for key in missing]
    if missing:
        return Constant(0.0)
    profile = _build(kind, data, where, problems, base_dir)
    profile.poisson = arrivals == "poisson"
    return profile


def _build(kind: str, data: dict[str, Any], where: str, problems: list[str], base_dir: Path | None) -> Profile:
    if kind in ("constant", "poisson"):
        return Constant(_rate(data["rate"], f"{where}.rate", problems))
    if kind == "step":
        steps = data["steps"]
        if not isinstance(steps, list) or not steps:
            problems.append(f"{where}.steps: must be a non-empty list of {{at, rate}}")
            return Constant(0.0)
        parsed = []
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or set(step) - {"at", "rate"} or "rate" not in step:
                problems.append(f"{where}.steps[{i}]: must be a mapping with at and rate")
                continue
            parsed.append((_time(step.get("at", 0), f"{where}.steps[{i}].at", problems),
                           _rate(step["rate"], f"{where}.steps[{i}].rate", problems)))
        if [t for t, _ in parsed] != sorted(t for t, _ in parsed):
            problems.append(f"{where}.steps: the steps must be in time order")
        return Step(parsed)
    if kind == "ramp":
        return Ramp(_rate(data["from"], f"{where}.from", problems), _rate(data["to"], f"{where}.to", problems),
                    _time(data["over"], f"{where}.over", problems, positive=True),
                    _time(data.get("start", 0), f"{where}.start", problems))
    if kind == "sine":
        mean = _rate(data["mean"], f"{where}.mean", problems)
        amplitude = _rate(data["amplitude"], f"{where}.amplitude", problems)
        return Sine(mean, amplitude, _time(data.get("period", "24h"), f"{where}.period", problems, positive=True),
                    _time(data.get("phase", 0), f"{where}.phase", problems))
    if kind == "bursts":
        every = _time(data["every"], f"{where}.every", problems, positive=True)
        length = _time(data["length"], f"{where}.length", problems, positive=True)
        if length > every:
            problems.append(f"{where}.length: must not exceed every")
        return Bursts(_rate(data["base"], f"{where}.base", problems), _rate(data["rate"], f"{where}.rate", problems),
                      every, length, _time(data.get("start", 0), f"{where}.start", problems))
    return _table(data, where, problems, base_dir)


def _table(data: dict[str, Any], where: str, problems: list[str], base_dir: Path | None) -> Profile:
    interpolate = data.get("interpolate", "step")
    if interpolate not in ("step", "linear"):
        problems.append(f"{where}.interpolate: must be step or linear")
    path = Path(str(data["file"]))
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    times: list[float] = []
    rates: list[float] = []
    try:
        with path.open(newline="") as handle:
            for n, row in enumerate(csv.reader(handle), 1):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) < 2:
                    problems.append(f"{where}.file: {path.name} line {n}: needs time,rate")
                    continue
                try:
                    t, rate = parse_duration(row[0].strip()), float(row[1])
                except ValueError:
                    if n == 1 and not times:
                        continue   # a header row
                    problems.append(f"{where}.file: {path.name} line {n}: not a time,rate row")
                    continue
                if times and t <= times[-1]:
                    problems.append(f"{where}.file: {path.name} line {n}: times must increase")
                    continue
                if not math.isfinite(rate) or rate < 0:
                    problems.append(f"{where}.file: {path.name} line {n}: the rate must be >= 0")
                    continue
                times.append(t)
                rates.append(rate)
    except OSError as exc:
        problems.append(f"{where}.file: cannot read {path}: {exc.strerror}")
    if not times and not any(p.startswith(f"{where}.file") for p in problems):
        problems.append(f"{where}.file: {path.name} has no time,rate rows")
    return Table(times, rates, interpolate == "linear")
