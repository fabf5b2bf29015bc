"""The C twins in tests: which implementations a test can run (docs/architecture.md, "The C twins")."""

from __future__ import annotations

import importlib
from types import ModuleType


def twin(module: str) -> ModuleType | None:
    """The built twin ``module``, or None where the installation has no C compiler."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def engines(built: ModuleType | None) -> list[str]:
    """``python``, and ``c`` when the twin is built (CI builds it: a compiler is there)."""
    return ["python", "c"] if built is not None else ["python"]
