"""Fixtures for the pattern-engine tests: ``engine`` runs a test against each hot-path implementation
(the pure-Python reference and, when it was built, the compiled accelerator)."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import pytest

from eventmesh.patterns import RuleSet
from eventmesh.patterns._engines import ENGINE_ENV, available

ALL_ENGINES = ("python", "c")


@pytest.fixture(params=ALL_ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine under test; also the default of every rule set the test creates (compile_pattern)."""
    name: str = request.param
    if name not in available():
        pytest.skip(f"the {name} pattern engine is not built here")
    monkeypatch.setenv(ENGINE_ENV, name)
    return name


RuleSetFactory = Callable[..., RuleSet]


@pytest.fixture
def rule_set(engine: str) -> RuleSetFactory:
    """``rule_set({"name": pattern, ...}, flavor=..., scope=...)``: a RuleSet on the engine under test."""

    def make(rules: Mapping[Hashable, Any] | Iterable[tuple[Hashable, Any]] = (), **kwargs: Any) -> RuleSet:
        built = RuleSet(engine=engine, **kwargs)
        for name, pattern in (rules.items() if isinstance(rules, Mapping) else rules):
            built.add(name, pattern if isinstance(pattern, str) else json.dumps(pattern))
        return built

    return make


def hits(rules: RuleSet, event: Any) -> set[Hashable]:
    """The names matching ``event`` (a dict is sent as JSON text, as an API call would)."""
    return rules.matches(json.dumps(event) if isinstance(event, dict) else event)
