"""Rate profiles: the rate each gives over virtual time, and the calls a generator makes of it."""

from __future__ import annotations

import math

import pytest

import eventmesh.simulate as sim
from eventmesh.simulate.profiles import parse_profile
from tests.simulate.helpers import scenario


def _profile(data, tmp_path=None):
    problems: list[str] = []
    profile = parse_profile(data, "rate", problems, tmp_path)
    assert problems == []
    return profile


def test_each_profile_gives_its_rate_over_time(tmp_path):
    assert _profile(40).rate(123) == 40
    step = _profile({"profile": "step", "steps": [{"at": 0, "rate": 10}, {"at": "1m", "rate": 50}]})
    assert (step.rate(59.9), step.rate(60), step.next_change(10)) == (10, 50, 60)
    ramp = _profile({"profile": "ramp", "from": 0, "to": 100, "over": "100s", "start": "10s"})
    assert (ramp.rate(5), ramp.rate(60), ramp.rate(500)) == (0, 50, 100)
    sine = _profile({"profile": "sine", "mean": 100, "amplitude": 50, "period": "24h", "phase": 0})
    assert sine.rate(6 * 3600) == pytest.approx(150) and sine.rate(18 * 3600) == pytest.approx(50)
    bursts = _profile({"profile": "bursts", "base": 1, "rate": 100, "every": "1m", "length": "10s"})
    assert (bursts.rate(5), bursts.rate(15), bursts.rate(65), bursts.next_change(15)) == (100, 1, 100, 60)
    (tmp_path / "rates.csv").write_text("time,rate\n0,10\n1m,20\n2m,0\n")
    table = _profile({"profile": "csv", "file": "rates.csv"}, tmp_path)
    assert (table.rate(30), table.rate(90), table.rate(150)) == (10, 20, 0)
    linear = _profile({"profile": "csv", "file": "rates.csv", "interpolate": "linear"}, tmp_path)
    assert linear.rate(30) == 15
    assert _profile({"profile": "poisson", "rate": 5}).poisson


def test_bad_profiles_name_their_keys(tmp_path):
    problems: list[str] = []
    parse_profile({"profile": "bursts", "base": 1, "rate": 2, "every": "1m", "length": "2m", "x": 1}, "load[0].rate",
                  problems)
    parse_profile({"profile": "csv", "file": "missing.csv"}, "load[1].rate", problems, tmp_path)
    parse_profile({"profile": "step", "steps": [{"at": "2m", "rate": 1}, {"at": "1m", "rate": 2}]}, "load[2].rate",
                  problems)
    assert problems[0] == "load[0].rate.x: not a key of a bursts profile (takes base, every, length, rate, start)"
    assert "load[0].rate.length: must not exceed every" in problems
    assert any(p.startswith("load[1].rate.file: cannot read") for p in problems)
    assert "load[2].rate.steps: the steps must be in time order" in problems


def _offered(rate, duration="100s", batch=1):
    result = sim.run(scenario(duration, resources={"sqs": {"queues": [{"QueueName": "q"}]}},
                              load=[{"name": "p", "api": "SendMessageBatch" if batch > 1 else "SendMessage",
                                     "target": "q", "batch": batch, "rate": rate}]))
    return result.series("EventsAccepted", "Sum", Generator="p").values


def test_generators_offer_the_integral_of_the_profile():
    # A ramp 0 → 100/s over 100 s offers 5,000 events; per 10 s period the trapezoid of that slice.
    per_period = _offered({"profile": "ramp", "from": 0, "to": 100, "over": "100s"})
    assert sum(per_period) == pytest.approx(5_000, abs=2)
    assert per_period == pytest.approx([50 + 100 * i for i in range(10)], abs=2)
    bursts = _offered({"profile": "bursts", "base": 0, "rate": 100, "every": "20s", "length": "5s"}, batch=10)
    assert bursts == [500, 0] * 5


def test_poisson_arrivals_have_the_rate_and_the_variance_of_a_poisson_process():
    counts = _offered({"profile": "poisson", "rate": 50}, duration="2000s")
    mean = sum(counts) / len(counts)
    variance = sum((c - mean) ** 2 for c in counts) / (len(counts) - 1)
    assert abs(mean - 500) < 4 * math.sqrt(500 / len(counts))
    assert 0.7 < variance / mean < 1.3   # Poisson: variance = mean (uniform arrivals: 0)
