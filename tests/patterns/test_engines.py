"""The engine switch: RuleSet(engine=...) or EVENTMESH_PATTERNS_ENGINE."""

from __future__ import annotations

import pytest

from eventmesh.patterns import RuleSet
from eventmesh.patterns._engines import ENGINE_ENV, available, resolve


def test_auto_prefers_the_accelerator_when_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert resolve(None) == ("c" if "c" in available() else "python")
    assert resolve("python") == "python"


def test_the_environment_variable_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_ENV, "python")
    assert RuleSet()._machine.engine == "python"
    assert RuleSet(engine="auto")._machine.engine == resolve("auto")


def test_unknown_or_unbuilt_engines_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError):
        RuleSet(engine="rust")
    monkeypatch.setenv(ENGINE_ENV, "fast")
    with pytest.raises(ValueError):
        RuleSet()
    if "c" not in available():
        with pytest.raises(ValueError):
            RuleSet(engine="c")
