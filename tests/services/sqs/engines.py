"""The two implementations of a standard queue's delivery path, for tests that run on both."""

from __future__ import annotations

import pytest

from eventmesh.services.sqs import standard

try:
    from eventmesh.services.sqs import _speedups  # type: ignore[attr-defined]
except ImportError:  # not built: only the Python path runs
    _speedups = None


def sqs_engines() -> list[str]:
    """``python``, and ``c`` when the C twin is built (CI builds it: a compiler is there)."""
    return ["python", "c"] if _speedups is not None else ["python"]


def use_sqs_engine(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """Queues created from now on (within the test) bind ``engine``'s delivery path."""
    monkeypatch.setattr(standard, "compiled_accept", _speedups.accept if engine == "c" else None)
