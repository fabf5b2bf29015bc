from __future__ import annotations

import pytest

from eventmesh.mesh import Mesh
from eventmesh.testing import VirtualDriver, virtual_mesh


@pytest.fixture
def vmesh() -> Mesh:
    mesh, _ = virtual_mesh()
    return mesh


@pytest.fixture
def driver(vmesh: Mesh) -> VirtualDriver:
    return VirtualDriver(vmesh)
