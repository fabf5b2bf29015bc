"""Import a pluggable part by name, or ``None`` when it is not part of this build."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["optional_import"]


def optional_import(name: str) -> ModuleType | None:
    """The module ``name``, or ``None`` if it (or a package above it) does not exist.

    A missing module *inside* it still raises: that is a bug, not an absent part.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise
