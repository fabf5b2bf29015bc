"""The services, one package each: cores (pure state machines), service-level operations
(``service.py``), records, errors and the wire adapter (``api.py``).

:func:`adapters` picks the wire adapters from a name table (importing them only when asked, so a
core's import never pulls in the protocol layer) for the composition root to hand to
``wire.router.Api``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

__all__ = ["ADAPTERS", "EXTENSIONS", "adapters"]

# botocore model name -> the adapter module; each has ``service`` (a wire.service.Service).
ADAPTERS = {
    "sqs": "eventmesh.services.sqs.api",
    "sns": "eventmesh.services.sns.api",
    "lambda": "eventmesh.services.lambda_.api",
    "kinesis": "eventmesh.services.kinesis.api",
    "events": "eventmesh.services.events.api",
    "logs": "eventmesh.services.logs.api",
    "sts": "eventmesh.services.sts.api",
    "iam": "eventmesh.services.iam.api",
}
# Operations of a service that live in another package's adapter: each has ``register(service)``.
EXTENSIONS = {
    "lambda": ["eventmesh.services.esm.api"],
}


def adapters(names: Iterable[str] | None = None) -> list[Any]:
    """The ``Service`` of each named adapter (default: all), with its extensions registered."""
    out = []
    for name in ADAPTERS if names is None else names:
        service = importlib.import_module(ADAPTERS[name]).service
        for extension in EXTENSIONS.get(name, ()):
            importlib.import_module(extension).register(service)
        out.append(service)
    return out
