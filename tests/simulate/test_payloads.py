"""Payload templates: typed fields, text fields, skewed keys, constants, replayed samples."""

from __future__ import annotations

import collections
import json
import random

import pytest

import eventmesh.simulate as sim
from eventmesh.simulate.payloads import TemplateError, compile_template
from tests.simulate.helpers import scenario


def _render(value, n=1, *, as_json=True, seed=1):
    template = compile_template(value, random.Random(seed), lambda: 1_700_000_000.25, as_json=as_json)
    return [template.render() for _ in range(n)]


def test_a_whole_field_keeps_its_type_and_fields_in_text_are_text():
    first, second = (json.loads(x) for x in _render(
        {"id": "{counter}", "total": "{uniform(5, 500)}", "n": "{randint(1, 3)}", "tier": "{choice(a, b)}",
         "ref": 'order-{counter(100)} "quoted" {{braces}}', "at": "{now}", "fixed": [1, True]}, 2))
    assert (first["id"], second["id"]) == (1, 2)
    assert isinstance(first["total"], float) and 5 <= first["total"] <= 500
    assert first["n"] in (1, 2, 3) and first["tier"] in ("a", "b")
    assert (first["ref"], second["ref"]) == ('order-100 "quoted" {braces}', 'order-101 "quoted" {braces}')
    assert first["at"] == "2023-11-14T22:13:20.250Z" and first["fixed"] == [1, True]


def test_skewed_keys_follow_their_distribution():
    keys = collections.Counter(_render("{zipf(10, 1)}", 20_000, as_json=False))
    harmonic = sum(1 / k for k in range(1, 11))
    assert keys["key-1"] / 20_000 == pytest.approx(1 / harmonic, abs=0.02)
    assert keys["key-2"] / 20_000 == pytest.approx(0.5 / harmonic, abs=0.02)
    hot = collections.Counter(_render("{hot(0.6, 100)}", 10_000, as_json=False))
    assert hot["hot"] / 10_000 == pytest.approx(0.6, abs=0.02) and len(hot) > 50
    weighted = collections.Counter(_render("{choice(a=3, b=1)}", 8_000, as_json=False))
    assert weighted["a"] / 8_000 == pytest.approx(0.75, abs=0.02)


def test_a_template_without_fields_is_a_constant_and_the_draws_are_seeded():
    template = compile_template({"a": 1}, random.Random(1), float, as_json=True)
    assert template.constant and template.text == '{"a":1}'
    assert _render("{uuid}", 3, as_json=False, seed=4) == _render("{uuid}", 3, as_json=False, seed=4)
    assert _render("{uuid}", 1, as_json=False, seed=4) != _render("{uuid}", 1, as_json=False, seed=5)
    with pytest.raises(TemplateError, match="bad arguments"):
        _render("{uniform(1)}")


def test_a_sample_file_is_replayed_in_order(tmp_path):
    (tmp_path / "events.jsonl").write_text(
        '{"source": "shop", "detail-type": "A", "detail": {"n": 1}}\n\n'
        '{"Source": "shop", "DetailType": "B", "Detail": "{\\"n\\": 2}"}\n')
    data = scenario("10s", resources={"sqs": {"queues": [{"QueueName": "q"}]}, "events": {"rules": [
        {"Name": "r", "EventPattern": {"source": ["shop"]},
         "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}]}]}},
        load=[{"name": "replay", "api": "PutEvents", "batch": 2, "rate": 0.4,
               "payload": {"file": str(tmp_path / "events.jsonl")}}])
    result = sim.run(data)
    assert result.total("sqs", "q").sent == 4 and result.total("rule", "default/r").delivered == 4
