"""The bus engine fixture: a module that uses it (`pytestmark`) runs on the bus's Python loop and on
its C twin (when it is built). The wire tests talk to a daemon in another process and do not."""

from __future__ import annotations

import pytest

from tests.services.events.engines import events_engines, use_events_engine


@pytest.fixture(params=events_engines())
def events_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    use_events_engine(monkeypatch, request.param)
    return str(request.param)
