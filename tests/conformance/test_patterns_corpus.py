"""The shared EventBridge-pattern / SNS-filter-policy corpus, run as data (never copied case by case).

The corpus folder (``cases.jsonl``) is EVENTMESH_CONFORMANCE_DIR, by default
``../shared/conformance/patterns`` from the repository root. When it is missing the tests skip, or
fail when EVENTMESH_REQUIRE_CORPUS=1 (CI sets it). Every case must pass, on every pattern engine
built here, and every rejected AWS-verified pattern must carry the recorded message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eventmesh.patterns import InvalidPatternError, compile_filter_policy, compile_pattern
from eventmesh.patterns._engines import ENGINE_ENV, available

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS_DIR = REPOSITORY / ".." / "shared" / "conformance" / "patterns"
CORPUS_DIR_ENV = "EVENTMESH_CONFORMANCE_DIR"
REQUIRE_ENV = "EVENTMESH_REQUIRE_CORPUS"
CASES_FILE = "cases.jsonl"


def corpus_path() -> Path:
    return Path(os.environ.get(CORPUS_DIR_ENV) or DEFAULT_CORPUS_DIR) / CASES_FILE


def _as_decoded(event: str) -> object:
    """The event a bus or a caller hands over already decoded, where it is a JSON object."""
    try:
        decoded = json.loads(event)
    except ValueError:
        return event
    return decoded if isinstance(decoded, dict) else event


def _answer(case: dict, form: str = "text") -> object:
    flavor, pattern, event = case["flavor"], case["pattern"], case["event"]
    if form == "decoded" and flavor != "sns-attributes":
        event = _as_decoded(event)
    try:
        if flavor == "eventbridge":
            return compile_pattern(pattern).matches(event)
        if flavor == "sns-body":
            return compile_filter_policy(pattern, scope="MessageBody").matches(body=event)
        return compile_filter_policy(pattern, scope="MessageAttributes").matches(attributes=json.loads(event))
    except InvalidPatternError:
        return "invalid"


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    path = corpus_path()
    if not path.exists():
        message = f"conformance corpus not found at {path} (set {CORPUS_DIR_ENV})"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("form", ["text", "decoded"])
@pytest.mark.parametrize("engine", available())
def test_every_case_passes(cases: list[dict], engine: str, form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case as JSON text (which the compiled engine reads as text where it is exact:
    patterns/_text.py) and as the decoded object a bus hands over."""
    monkeypatch.setenv(ENGINE_ENV, engine)
    failures = [c["id"] for c in cases if _answer(c, form) != c["expect"]]
    assert failures == []
    assert len(cases) > 0


def test_rejected_aws_verified_patterns_carry_the_recorded_message(cases: list[dict]) -> None:
    mismatched = []
    for case in cases:
        if case["expect"] != "invalid" or not case.get("aws_verified"):
            continue
        scope = "MessageBody" if case["flavor"] == "sns-body" else "MessageAttributes"
        with pytest.raises(InvalidPatternError) as info:
            if case["flavor"] == "eventbridge":
                compile_pattern(case["pattern"])
            else:
                compile_filter_policy(case["pattern"], scope)
        error = info.value
        recorded = case["note"].split("error: ", 1)[-1].split(" | ")[0].strip()
        if recorded not in (error.message.split("\n")[0], error.subscribe_message.split("\n")[0]):
            mismatched.append((case["id"], recorded, error.message))
    assert mismatched == []
