"""Helpers for tests of eventmesh and of users' own code: a mesh in virtual time and its driver."""

from __future__ import annotations

from eventmesh.clock import VirtualClock
from eventmesh.drivers.virtual import VirtualDriver
from eventmesh.mesh import Mesh

__all__ = ["VirtualDriver", "virtual_mesh"]


def virtual_mesh(seed: int = 0, **kwargs: object) -> tuple[Mesh, VirtualDriver]:
    """A fresh :class:`Mesh` on a :class:`VirtualClock` with a seeded id generator, and its driver."""
    mesh = Mesh(VirtualClock(), seed=seed, **kwargs)  # type: ignore[arg-type]
    return mesh, VirtualDriver(mesh)
