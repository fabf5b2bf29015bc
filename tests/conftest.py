from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from eventmesh.mesh import Mesh
from eventmesh.testing import VirtualDriver, virtual_mesh

# The suites that run a daemon over the wire run against one worker and against two (eventmesh
# serve --workers): their daemon fixture takes ``workers``, module-scoped so each count gets one
# daemon per module. EVENTMESH_TEST_WORKERS=1 (or 2) runs one count only.
WORKER_COUNTS = [int(n) for n in os.environ.get("EVENTMESH_TEST_WORKERS", "1,2").split(",")]


@pytest.fixture(scope="module", params=WORKER_COUNTS, ids=[f"workers={n}" for n in WORKER_COUNTS])
def workers(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def vmesh() -> Mesh:
    mesh, _ = virtual_mesh()
    return mesh


@pytest.fixture
def driver(vmesh: Mesh) -> VirtualDriver:
    return VirtualDriver(vmesh)


class _InternalErrors(logging.Handler):
    """Collects the router's "internal error" records: each is a 500 a daemon answered."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("internal error"):
            self.records.append(record)


_internal_errors = _InternalErrors()
for _name in ("eventmesh.wire", "eventmesh.server"):
    logging.getLogger(_name).addHandler(_internal_errors)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "provokes_internal_error: the test plants a bug and checks its answer")


@pytest.fixture(autouse=True)
def no_internal_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """A 500 is reserved for a bug: any test during which a daemon answered one fails (unless it
    plants the bug itself)."""
    _internal_errors.records.clear()
    yield
    if request.node.get_closest_marker("provokes_internal_error"):
        _internal_errors.records.clear()
    if _internal_errors.records:
        first = _internal_errors.records[0].getMessage()
        _internal_errors.records.clear()
        pytest.fail(f"a daemon answered 500 during this test:\n{first}")
