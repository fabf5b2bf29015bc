"""The two implementations of a bus's per-event loops (put_events' and ingest's), for tests that
run on both."""

from __future__ import annotations

import pytest

from eventmesh.services.events import bus, service

try:
    from eventmesh.services.events import _speedups  # type: ignore[attr-defined]
except ImportError:  # not built: only the Python loop runs
    _speedups = None


def events_engines() -> list[str]:
    """``python``, and ``c`` when the C twin is built (CI builds it: a compiler is there)."""
    return ["python", "c"] if _speedups is not None else ["python"]


def use_events_engine(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """PutEvents and buses run ``engine``'s loops for the rest of the test."""
    monkeypatch.setattr(bus, "compiled_ingest", _speedups.ingest if engine == "c" else None)
    monkeypatch.setattr(service, "compiled_entries", _speedups.entries if engine == "c" else None)
