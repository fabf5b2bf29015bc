"""What a test's handle (``handle.py``) may ask any worker: its resources and their statistics."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["install_test_questions"]


def install_test_questions(daemon: Any) -> None:
    """What a test's handle may ask any worker: its resources and their statistics."""
    mesh = daemon.mesh

    def resources(service: str | None) -> list[Any]:
        out = []
        for resource in mesh.resources(service):
            names = {key: value for key in ("name", "uuid") if isinstance(value := getattr(resource, key, None), str)}
            out.append([resource.arn, names])
        return out

    def statistics(arn: str) -> list[Any]:
        stats = mesh.find(arn, object).statistics()
        kind = type(stats)
        return [f"{kind.__module__}.{kind.__qualname__}", msgspec.to_builtins(stats)]

    daemon.node.asks["test.resources"] = resources
    daemon.node.asks["test.statistics"] = statistics
