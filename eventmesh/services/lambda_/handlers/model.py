"""Synthetic functions for load tests and simulations: seeded durations, errors and cold starts.

A model function "runs" on the mesh clock: each invocation gets a duration drawn from a fixed,
uniform, lognormal (given its p50 and p99) or exponential (``duration=exp(40ms)``: given its mean)
distribution, plus ``per_record`` for each record of the batch it was given (the ``Records`` of
an event source mapping or an SNS notification; any other event is one record), fails with
probability ``error_rate`` and, when it needed a new execution environment, finishes
``cold_start`` later.
A duration beyond the function's timeout ends the invocation at the timeout with Lambda's
``Sandbox.Timedout`` error. The random source is seeded (from ``seed`` or the mesh's seeded ids),
so a run is reproducible. Cost: O(1) per invocation, one clock timer per distinct millisecond
of completion (a fixed-duration batch finishes on one timer).
"""

from __future__ import annotations

import math
import random
from typing import Any

import msgspec

from eventmesh.services.lambda_.errors import InvalidParameterValueException
from eventmesh.services.lambda_.jobs import TIMEOUT_ERROR_TYPE, Invocation

__all__ = ["ModelSpec", "ModelHandler", "parse_model", "MODEL_ERROR_TYPE"]

MODEL_ERROR_TYPE = "ModelError"
_Z99 = 2.3263478740408408   # standard normal quantile at 0.99


class ModelSpec(msgspec.Struct, frozen=True):
    """A synthetic function: ``distribution`` is fixed, uniform or lognormal."""

    distribution: str = "fixed"     # fixed | uniform | lognormal | exponential
    duration_s: float = 0.0         # fixed duration, or the mean of the exponential
    min_s: float = 0.0
    max_s: float = 0.0
    p50_s: float = 0.0
    p99_s: float = 0.0
    error_rate: float = 0.0
    cold_start_s: float = 0.0
    per_record_s: float = 0.0
    seed: int | None = None
    response: bytes = b"null"


# Record keys of the batches Lambda hands a function: event source mappings (SQS, Kinesis) spell
# ``eventSource``, SNS ``EventSource``. Inside a record's body the quotes are escaped, so only
# the records' own keys are counted.
_RECORD_KEYS = (b'"eventSource":', b'"EventSource":')


def _seconds(text: str) -> float:
    value = float(text[:-2]) / 1000.0 if text.endswith("ms") else float(text.rstrip("s"))
    if not math.isfinite(value) or value < 0:
        raise ValueError(text)
    return value


def records_in(payload: bytes) -> int:
    """How many records an invocation's event carries (at least 1): what ``per_record`` costs."""
    return max(1, payload.count(_RECORD_KEYS[0]) + payload.count(_RECORD_KEYS[1]))


def parse_model(text: str) -> ModelSpec:
    """``p50=20ms,p99=250ms,error_rate=0.01,cold_start=300ms,seed=7`` → ModelSpec;
    ``duration=exp(40ms),per_record=2ms``: exponential durations of mean 40 ms, 2 ms per record."""
    fields: dict[str, Any] = {}
    try:
        for part in filter(None, text.split(",")):
            key, _, value = part.partition("=")
            if key == "duration" and value.startswith("exp(") and value.endswith(")"):
                fields["duration_s"] = _seconds(value[4:-1])
                if not fields["duration_s"] > 0:
                    raise ValueError(value)
                fields["distribution"] = "exponential"
            elif key == "duration":
                fields["duration_s"] = _seconds(value)
            elif key == "per_record":
                fields["per_record_s"] = _seconds(value)
            elif key in ("min", "max", "p50", "p99", "cold_start"):
                fields[f"{key}_s"] = _seconds(value)
            elif key == "error_rate":
                fields["error_rate"] = float(value)
            elif key == "seed":
                fields["seed"] = int(value)
            else:
                raise ValueError(key)
    except ValueError as exc:
        raise InvalidParameterValueException(f"Invalid model handler setting: {exc} in {text!r}") from None
    kinds = ("p50_s" in fields or "p99_s" in fields) + ("min_s" in fields or "max_s" in fields) + (
        "duration_s" in fields)
    if kinds > 1:
        raise InvalidParameterValueException(
            f"Model handler takes one distribution (duration, min/max or p50/p99): {text!r}")
    if "p50_s" in fields or "p99_s" in fields:
        p50, p99 = fields.get("p50_s", 0.0), fields.get("p99_s", 0.0)
        if not 0 < p50 <= p99:
            raise InvalidParameterValueException("Model handler needs 0 < p50 <= p99")
        fields["distribution"] = "lognormal"
    elif "min_s" in fields or "max_s" in fields:
        if not 0 <= fields.get("min_s", 0.0) <= fields.get("max_s", 0.0):
            raise InvalidParameterValueException("Model handler needs 0 <= min <= max")
        fields["distribution"] = "uniform"
    if not 0.0 <= fields.get("error_rate", 0.0) <= 1.0:
        raise InvalidParameterValueException("Model handler error_rate must be within 0..1")
    return ModelSpec(**fields)


class ModelHandler:
    """Completes invocations on clock deadlines through ``host.completions``."""

    def __init__(self, spec: Any, host: Any) -> None:
        model: ModelSpec = spec.model
        self.model = model
        self.host = host
        seed = model.seed if model.seed is not None else host.random.getrandbits(64)
        self.random = random.Random(seed)
        self._mu = math.log(model.p50_s) if model.distribution == "lognormal" else 0.0
        self._sigma = ((math.log(model.p99_s) - self._mu) / _Z99
                       if model.distribution == "lognormal" else 0.0)

    def start(self, invocations: list[Invocation], now: float) -> None:
        model = self.model
        timeout_s = self.host.timeout_s
        completions = self.host.completions
        response = model.response
        if model.per_record_s:
            self._start_per_record(invocations, now, timeout_s)
            return
        if model.distribution == "fixed" and not model.error_rate and model.duration_s <= timeout_s:
            # The load-test fast path: one deadline (two with cold starts) for the whole batch.
            duration = model.duration_s
            cold = []
            for inv in invocations:
                inv.duration_s = duration
                inv.response = response
                if inv.cold:
                    cold.append(inv)
            if not cold or not model.cold_start_s:
                completions.extend(now + duration, invocations)
            else:
                warm = [inv for inv in invocations if not inv.cold] if len(cold) < len(invocations) else []
                if warm:
                    completions.extend(now + duration, warm)
                completions.extend(now + duration + model.cold_start_s, cold)
            return
        rng = self.random
        for inv in invocations:
            self._run(inv, self._draw(rng), now, timeout_s)

    def _start_per_record(self, invocations: list[Invocation], now: float, timeout_s: float) -> None:
        """Each invocation costs its drawn duration plus ``per_record`` for each record it got."""
        rng = self.random
        per_record = self.model.per_record_s
        for inv in invocations:
            records = inv.lazy.records if inv.lazy is not None else records_in(inv.payload)
            self._run(inv, self._draw(rng) + per_record * records, now, timeout_s)

    def _run(self, inv: Invocation, duration: float, now: float, timeout_s: float) -> None:
        """Finish ``inv`` after ``duration`` (or at the timeout), failing at the error rate."""
        model = self.model
        if duration > timeout_s:
            inv.duration_s = timeout_s
            inv.error_type = TIMEOUT_ERROR_TYPE
        else:
            inv.duration_s = duration
            if model.error_rate and self.random.random() < model.error_rate:
                inv.error_type = MODEL_ERROR_TYPE
                inv.error_message = "Simulated function error"
            else:
                inv.response = model.response
        end = now + inv.duration_s + (model.cold_start_s if inv.cold else 0.0)
        self.host.completions.add(end, inv)

    def _draw(self, rng: random.Random) -> float:
        model = self.model
        if model.distribution == "lognormal":
            return rng.lognormvariate(self._mu, self._sigma)
        if model.distribution == "uniform":
            return rng.uniform(model.min_s, model.max_s)
        if model.distribution == "exponential":
            return rng.expovariate(1.0 / model.duration_s)
        return model.duration_s
