"""The C twins' switch (eventmesh.twins): auto, python and c, read from the environment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eventmesh import twins
from tests.twins import twin

BUILT = "eventmesh.services.sqs._speedups"
MISSING = "eventmesh.services.sqs._not_built"


def test_auto_runs_a_built_twin_and_python_a_missing_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTMESH_X_ENGINE", raising=False)
    assert twins.load("EVENTMESH_X_ENGINE", MISSING, "x") == (None, False)
    if twin(BUILT) is not None:
        module, chosen = twins.load("EVENTMESH_X_ENGINE", BUILT, "x")
        assert module is not None and chosen


def test_python_is_chosen_over_a_built_twin_which_is_still_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTMESH_X_ENGINE", "python")
    module, chosen = twins.load("EVENTMESH_X_ENGINE", BUILT, "x")
    assert not chosen and (module is None) == (twin(BUILT) is None)


def test_c_without_the_twin_and_an_unknown_value_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTMESH_X_ENGINE", "c")
    with pytest.raises(ValueError, match="not built"):
        twins.load("EVENTMESH_X_ENGINE", MISSING, "the x loop")
    monkeypatch.setenv("EVENTMESH_X_ENGINE", "fast")
    with pytest.raises(ValueError, match="must be one of auto, python, c"):
        twins.load("EVENTMESH_X_ENGINE", BUILT, "x")


@pytest.mark.skipif(twin(BUILT) is None, reason="the C twins are not built")
@pytest.mark.parametrize(("engine", "expected"),
                         [("python", "None None None"), ("c", "accept ingest route"), ("auto", "accept ingest route")])
def test_the_variables_pick_what_queues_buses_and_streams_run(engine: str, expected: str) -> None:
    code = ("from eventmesh.services.sqs import standard; from eventmesh.services.events import bus; "
            "from eventmesh.services.kinesis import stream; "
            "name = lambda f: getattr(f, '__name__', None); "
            "print(name(standard.compiled_accept), name(bus.compiled_ingest), name(stream.compiled_route))")
    env = {"EVENTMESH_SQS_ENGINE": engine, "EVENTMESH_EVENTS_ENGINE": engine, "EVENTMESH_KINESIS_ENGINE": engine,
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == expected.split()
