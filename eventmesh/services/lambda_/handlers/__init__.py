"""Handler kinds, picked from a name table: the only part of the pool that runs user code.

A function's ``Handler`` setting (with its ``Runtime`` and package) names its kind:

=========  =============================================  ======================================
kind       Handler                                        runs
=========  =============================================  ======================================
python     ``file.function`` with a zip (python3.x)       in a worker process (runner.py)
runtime    ``index.handler`` with a zip (nodejs*)         node, through the Runtime API
runtime    any, with a zip holding ``bootstrap``          the bootstrap, through the Runtime API
           (provided.al2023, provided.al2)                (Go, Rust, Java, .NET … binaries)
python     ``package.module:function`` (no zip)           in a worker process (import path)
http       ``http://host:port/path`` (any runtime)        POST of the event (e.g. the Runtime
                                                          Interface Emulator of a container)
model      ``model:p50=20ms,p99=250ms,error_rate=0.01``   synthetic, on the mesh clock
=========  =============================================  ======================================

Import-path and http handlers run code that is not in the function's package: they are a
feature of the operator's config file, refused over the wire unless the operator allows them
(:func:`runs_outside_package`; the daemon's ``security.wire_handlers`` setting). A zip handler
must name a module inside its package.

Model keys: ``duration`` (fixed), ``duration=exp(40ms)`` (exponential of that mean), ``min``/``max``
(uniform), ``p50``/``p99`` (lognormal), ``per_record`` (added per record of the batch),
``error_rate`` (0–1), ``cold_start``, ``seed``; times in seconds or with an ``ms`` suffix.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from eventmesh.services.lambda_.errors import InvalidParameterValueException
from eventmesh.services.lambda_.handlers.external import ExternalHandler
from eventmesh.services.lambda_.handlers.model import ModelHandler, ModelSpec, parse_model
from eventmesh.services.lambda_.jobs import Invocation
from eventmesh.services.lambda_.package import check_handler_path

__all__ = ["HandlerSpec", "Handler", "parse_handler", "make_handler", "runs_outside_package", "HANDLER_KINDS",
           "ModelSpec", "CUSTOM_RUNTIME_PREFIX", "NODE_RUNTIME_PREFIX"]

CUSTOM_RUNTIME_PREFIX = "provided"    # provided.al2023, provided.al2, provided
NODE_RUNTIME_PREFIX = "nodejs"


class HandlerSpec(msgspec.Struct, frozen=True):
    """What a function's code is: ``kind`` from the name table and its target."""

    kind: str
    target: str
    zipped: bool = False
    model: ModelSpec | None = None


class Handler(Protocol):
    def start(self, invocations: list[Invocation], now: float) -> None:
        """Begin running ``invocations`` (admitted together at ``now``); the handler completes
        them through its host (a clock deadline or a runner's callback)."""


HANDLER_KINDS: dict[str, Any] = {
    "python": ExternalHandler,
    "runtime": ExternalHandler,
    "http": ExternalHandler,
    "model": ModelHandler,
}


def parse_handler(runtime: str | None, handler: str, has_zip: bool) -> HandlerSpec:
    """Read the handler kind from ``Handler`` (see the module docstring)."""
    if handler.startswith("model:"):
        return HandlerSpec("model", handler, model=parse_model(handler[len("model:"):]))
    if handler.startswith(("http://", "https://")):
        return HandlerSpec("http", handler)
    if has_zip:
        if runtime is not None and runtime.startswith(CUSTOM_RUNTIME_PREFIX):
            return HandlerSpec("runtime", handler, zipped=True)
        if runtime is not None and not runtime.startswith(("python", NODE_RUNTIME_PREFIX)):
            raise InvalidParameterValueException(
                f"Runtime {runtime} is not supported by eventmesh for zip packages; use a python or "
                f"nodejs runtime, provided.al2023 with a bootstrap (any language), an http handler "
                f"(Runtime Interface Emulator URL) or a model handler.")
        if "." not in handler:
            raise InvalidParameterValueException(
                f"Handler {handler} must be of the form file.function for a zip package")
        check_handler_path(handler)
        kind = "runtime" if runtime is not None and runtime.startswith(NODE_RUNTIME_PREFIX) else "python"
        return HandlerSpec(kind, handler, zipped=True)
    if ":" in handler or "." in handler:
        # An import path: package.module:function (or Lambda's dotted package.module.function).
        target = handler if ":" in handler else ":".join(handler.rsplit(".", 1))
        return HandlerSpec("python", target)
    raise InvalidParameterValueException(
        f"Handler {handler} is neither module:function, a URL, model:… nor file.function with a zip")


def runs_outside_package(spec: HandlerSpec) -> bool:
    """Code not in the function's own package: an import path or an http endpoint."""
    return spec.kind in ("python", "http") and not spec.zipped


def make_handler(spec: HandlerSpec, host: Any) -> Handler:
    handler: Handler = HANDLER_KINDS[spec.kind](spec, host)
    return handler
