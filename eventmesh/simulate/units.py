"""Quantities as scenario files and the faults endpoint spell them: ``90``, ``500ms``, ``10m``.

Durations are seconds (a number, or a string with ``ms``, ``s``, ``m``, ``h`` or ``d``, or a
sum of them such as ``1h30m``); sizes are
bytes (a number, or ``B``, ``KB``, ``KiB``, ``MB``, ``MiB``). Each parser raises ``ValueError`` with
a message fit to follow a key path.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_duration", "parse_size", "format_duration"]

_DURATION_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3_600.0, "d": 86_400.0}
_SIZE_UNITS_BYTES = {"b": 1, "kb": 1_000, "kib": 1_024, "mb": 1_000_000, "mib": 1_048_576}
_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_COMPOUND = re.compile(r"^(?:[0-9]*\.?[0-9]+(?:ms|min|s|m|h|d))+$")
_PART = re.compile(r"([0-9]*\.?[0-9]+)(ms|min|s|m|h|d)")


def _number(value: object, what: str) -> tuple[float, str]:
    if isinstance(value, bool):
        raise ValueError(f"must be a {what}, not {value!r}")
    if isinstance(value, (int, float)):
        return float(value), ""
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        if match:
            return float(match.group(1)), match.group(2).lower()
    raise ValueError(f"must be a {what} (a number or a string such as {_EXAMPLES[what]}), not {value!r}")


_EXAMPLES = {"duration": "'500ms', '30s', '10m', '1h'", "size": "'200B', '1KiB', '1MB'"}


def parse_duration(value: object, *, allow_zero: bool = True) -> float:
    """Seconds from ``90``, ``"1.5s"``, ``"500ms"``, ``"10m"``, ``"2h"``, ``"1d"``, ``"1h30m"``."""
    if isinstance(value, str) and _COMPOUND.match(value.strip()) and not _QUANTITY.match(value):
        return sum(float(n) * _DURATION_UNITS_S[u] for n, u in _PART.findall(value.strip()))
    number, unit = _number(value, "duration")
    if unit and unit not in _DURATION_UNITS_S:
        raise ValueError(f"unknown time unit {unit!r} in {value!r} (use ms, s, m, h or d)")
    seconds = number * _DURATION_UNITS_S.get(unit, 1.0)
    if not math.isfinite(seconds) or seconds < 0 or (not allow_zero and seconds == 0):
        raise ValueError(f"must be a duration {'>= 0' if allow_zero else '> 0'}, not {value!r}")
    return seconds


def parse_size(value: object) -> int:
    """Bytes from ``200``, ``"200B"``, ``"1KiB"``, ``"1MB"``."""
    number, unit = _number(value, "size")
    if unit and unit not in _SIZE_UNITS_BYTES:
        raise ValueError(f"unknown size unit {unit!r} in {value!r} (use B, KB, KiB, MB or MiB)")
    size = number * _SIZE_UNITS_BYTES.get(unit, 1)
    if not math.isfinite(size) or size < 0:
        raise ValueError(f"must be a size >= 0, not {value!r}")
    return int(size)


def format_duration(seconds: float) -> str:
    """``3723`` → ``1h02m03s``; below a minute ``12.5s``."""
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds % 1 else f"{seconds:.0f}s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3_600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
