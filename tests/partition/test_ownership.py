"""Ownership: children with their parents, explicit assignments, a stable default, balancing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from eventmesh.partition import Ownership, balance, parent_from_arn

TOPIC = "arn:aws:sns:us-east-1:000000000000:orders"
FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:worker"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:jobs"
MAPPING = "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:5f2c"


def test_children_name_their_parent_in_their_arn() -> None:
    assert parent_from_arn(f"{TOPIC}:0e7d5f2c") == TOPIC
    assert parent_from_arn(f"{FUNCTION}:live") == FUNCTION
    assert parent_from_arn("arn:aws:events:us-east-1:000000000000:rule/shop/orders") == \
        "arn:aws:events:us-east-1:000000000000:event-bus/shop"
    assert parent_from_arn("arn:aws:events:us-east-1:000000000000:rule/nightly") == \
        "arn:aws:events:us-east-1:000000000000:event-bus/default"
    assert parent_from_arn("arn:aws:kinesis:us-east-1:000000000000:stream/clicks/consumer/app:1700000000") == \
        "arn:aws:kinesis:us-east-1:000000000000:stream/clicks"
    assert parent_from_arn("arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/worker:*") == FUNCTION
    assert parent_from_arn(QUEUE) is None and parent_from_arn(TOPIC) is None and parent_from_arn("x") is None


def test_a_resource_and_its_children_share_an_owner() -> None:
    ownership = Ownership(4)
    ownership.attach(MAPPING, QUEUE)
    assert ownership.owner(f"{TOPIC}:sub-1") == ownership.owner(TOPIC)
    assert ownership.owner(f"{FUNCTION}:3") == ownership.owner(FUNCTION)
    assert ownership.owner(MAPPING) == ownership.owner(QUEUE)
    assert ownership.root(MAPPING) == QUEUE


def test_explicit_assignments_win_and_carry_the_children() -> None:
    ownership = Ownership(3, assignments={TOPIC: 2, QUEUE: 1}, parents={MAPPING: QUEUE})
    assert ownership.owner(TOPIC) == 2 and ownership.owner(f"{TOPIC}:s") == 2
    assert ownership.owner(MAPPING) == 1
    ownership.assign(QUEUE, 0)
    assert ownership.owner(MAPPING) == 0 and ownership.owns(0, QUEUE)
    with pytest.raises(ValueError):
        ownership.assign(QUEUE, 3)


def test_attaching_in_a_cycle_is_refused() -> None:
    ownership = Ownership(2, parents={"arn:a": "arn:b"})
    with pytest.raises(ValueError, match="cycle"):
        ownership.attach("arn:b", "arn:a")


def test_the_default_owner_does_not_depend_on_the_process_hash_seed() -> None:
    arns = [f"arn:aws:sqs:us-east-1:000000000000:q{i}" for i in range(40)]
    here = [Ownership(4).owner(arn) for arn in arns]
    assert len(set(here)) == 4   # spread over the partitions
    code = ("from eventmesh.partition import Ownership\n"
            f"print([Ownership(4).owner(a) for a in {arns!r}])")
    for seed in ("1", "12345"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        assert out.strip() == str(here)


def test_an_ownership_ships_as_bytes() -> None:
    ownership = Ownership(2, assignments={QUEUE: 1}, parents={MAPPING: QUEUE})
    copy = Ownership.from_bytes(ownership.to_bytes())
    assert copy.partitions == 2 and copy.owner(MAPPING) == 1 and copy.assignments == {QUEUE: 1}


def test_balance_puts_the_heaviest_groups_apart() -> None:
    weights = {"arn:a": 5.0, "arn:b": 4.0, "arn:c": 3.0, "arn:d": 3.0, "arn:e": 1.0}
    placed = balance(weights, 2)
    loads = [sum(w for arn, w in weights.items() if placed[arn] == p) for p in range(2)]
    assert sorted(loads) == [8.0, 8.0]
    assert placed == balance(dict(reversed(list(weights.items()))), 2)   # order-independent
    assert balance(weights, 2, fixed={"arn:e": 1})["arn:e"] == 1
