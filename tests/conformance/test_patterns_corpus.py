"""The shared EventBridge-pattern / SNS-filter-policy corpus, run as data (never copied case by case).

Reads ../shared/conformance/patterns/cases.jsonl relative to the repository root; skipped when the
corpus is not there. Asserts at least 99 % of all cases and every AWS-verified case pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventmesh.patterns import InvalidPatternError, compile_filter_policy, compile_pattern

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "patterns" / "cases.jsonl"
REQUIRED_PASS_RATE = 0.99


def _answer(case: dict) -> object:
    flavor, pattern, event = case["flavor"], case["pattern"], case["event"]
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
    if not CORPUS.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_pass_rate_and_every_aws_verified_case(cases: list[dict]) -> None:
    failures = [c for c in cases if _answer(c) != c["expect"]]
    verified_failures = [c["id"] for c in failures if c.get("aws_verified")]
    assert verified_failures == []
    assert (len(cases) - len(failures)) / len(cases) >= REQUIRED_PASS_RATE, [c["id"] for c in failures]


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
