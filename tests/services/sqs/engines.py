"""The two implementations of a standard queue's delivery path, for tests that run on both."""

from __future__ import annotations

import pytest

from eventmesh.services.sqs import standard
from tests.twins import engines, twin

_speedups = twin("eventmesh.services.sqs._speedups")


def sqs_engines() -> list[str]:
    return engines(_speedups)


def use_sqs_engine(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """Queues created from now on (within the test) bind ``engine``'s delivery path."""
    monkeypatch.setattr(standard, "compiled_accept", _speedups.accept if engine == "c" else None)  # type: ignore[union-attr]
