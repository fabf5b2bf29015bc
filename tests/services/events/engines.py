"""The two implementations of a bus's per-event loops (put_events' and ingest's), for tests that
run on both."""

from __future__ import annotations

import pytest

from eventmesh.services.events import bus, service
from tests.twins import engines, twin

_speedups = twin("eventmesh.services.events._speedups")


def events_engines() -> list[str]:
    return engines(_speedups)


def use_events_engine(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """PutEvents and buses run ``engine``'s loops for the rest of the test."""
    monkeypatch.setattr(bus, "compiled_ingest", _speedups.ingest if engine == "c" else None)  # type: ignore[union-attr]
    monkeypatch.setattr(service, "compiled_entries", _speedups.entries if engine == "c" else None)  # type: ignore[union-attr]
