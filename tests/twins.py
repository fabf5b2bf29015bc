"""The C twins in tests: which implementations a test can run (docs/architecture.md, "The C twins")."""

from __future__ import annotations

from types import ModuleType

from eventmesh.twins import built as twin

__all__ = ["engines", "twin"]


def engines(built: ModuleType | None) -> list[str]:
    """``python``, and ``c`` when the twin is built (CI builds it: a compiler is there)."""
    return ["python", "c"] if built is not None else ["python"]
