"""The switch of the C twins (docs/architecture.md, "The C twins"): which implementation of a hot
path runs, read from an environment variable when its module is imported.

``auto`` (the default) runs the twin when it was built at install (a C compiler was there),
``python`` the Python reference, ``c`` the twin or an error when it is not built.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["AUTO", "C", "ENGINES", "PYTHON", "built", "load"]

AUTO = "auto"
PYTHON = "python"
C = "c"
ENGINES = (AUTO, PYTHON, C)


def built(module: str) -> ModuleType | None:
    """The twin ``module``, or None where it was not built (no compiler at install): the Python
    code then serves alone."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def load(env: str, module: str, what: str) -> tuple[ModuleType | None, bool]:
    """The twin ``module`` (None when it is not built) and whether ``env`` chooses it. A twin that
    is built is returned even when Python is chosen, so its caller registers its classes with it
    and tests can switch."""
    engine = os.environ.get(env, AUTO)
    if engine not in ENGINES:
        raise ValueError(f"{env} must be one of {', '.join(ENGINES)}, not {engine!r}")
    twin = built(module)
    if twin is None and engine == C:
        raise ValueError(f"{what} is not built in this installation ({env}=c)")
    return twin, twin is not None and engine != PYTHON
