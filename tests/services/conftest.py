"""The wire suites run against a daemon of one worker and of two (``eventmesh serve --workers``):
each module's ``daemon`` fixture takes ``workers`` (module-scoped, so each count gets one daemon
per module). ``EVENTMESH_TEST_WORKERS=1`` (or ``2``) runs one count only."""

from __future__ import annotations

import os

import pytest

WORKER_COUNTS = [int(n) for n in os.environ.get("EVENTMESH_TEST_WORKERS", "1,2").split(",")]


@pytest.fixture(scope="module", params=WORKER_COUNTS, ids=[f"workers={n}" for n in WORKER_COUNTS])
def workers(request: pytest.FixtureRequest) -> int:
    return int(request.param)
