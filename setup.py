"""Build the optional C accelerator of the pattern engine (eventmesh/patterns/_speedups.c).

Everything else about the package is declared in pyproject.toml. The extension is optional: on a
machine without a C compiler (or Python headers), or with EVENTMESH_NO_EXTENSIONS=1, the install
goes on without it and the pure-Python engine serves alone (eventmesh/patterns/_engines.py).
"""

from __future__ import annotations

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NO_EXTENSIONS_ENV = "EVENTMESH_NO_EXTENSIONS"


class OptionalBuildExt(build_ext):
    """build_ext that reports a failed compile and carries on (the extension is an accelerator only)."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all: setuptools may fail before building anything
            self.warn(f"pattern accelerator not built ({exc}); the pure-Python engine will be used")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self.warn(f"pattern accelerator not built ({exc}); the pure-Python engine will be used")


extensions = []
if os.environ.get(NO_EXTENSIONS_ENV) != "1":
    extensions.append(
        Extension(
            "eventmesh.patterns._speedups",
            ["eventmesh/patterns/_speedups.c"],
            optional=True,
        )
    )

setup(ext_modules=extensions, cmdclass={"build_ext": OptionalBuildExt})
