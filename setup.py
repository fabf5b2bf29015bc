"""Build the optional C accelerators: the pattern engine's hot path (eventmesh/patterns/_speedups.c),
a standard SQS queue's delivery path (eventmesh/services/sqs/_speedups.c), a bus's per-event
loop (eventmesh/services/events/_speedups.c) and a stream's routing by partition key
(eventmesh/services/kinesis/_speedups.c).

Everything else about the package is declared in pyproject.toml. The extensions are optional: on a
machine without a C compiler (or Python headers), or with EVENTMESH_NO_EXTENSIONS=1, the install
goes on without them and the pure-Python code serves alone (eventmesh/patterns/_engines.py,
eventmesh/services/sqs/standard.py, eventmesh/services/events/bus.py,
eventmesh/services/kinesis/stream.py).
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
            self.warn(f"accelerators not built ({exc}); the pure-Python code will be used")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self.warn(f"{ext.name} not built ({exc}); its pure-Python twin will be used")


# Each twin: its module and its one C file (they share eventmesh/_twins.h).
TWINS = ("eventmesh.patterns._speedups", "eventmesh.services.sqs._speedups", "eventmesh.services.events._speedups",
         "eventmesh.services.kinesis._speedups")

extensions = []
if os.environ.get(NO_EXTENSIONS_ENV) != "1":
    extensions = [
        Extension(name, [name.replace(".", "/") + ".c"], include_dirs=["eventmesh"], depends=["eventmesh/_twins.h"],
                  optional=True)
        for name in TWINS
    ]

setup(ext_modules=extensions, cmdclass={"build_ext": OptionalBuildExt})
