"""cidr (IPv4, IPv6) and exact IP strings: one interval index per IP version per edge."""

from __future__ import annotations

import pytest
from conftest import RuleSetFactory, hits

from eventmesh.patterns.ops.cidr import ip_of


def test_many_blocks_behind_one_anchor(rule_set: RuleSetFactory) -> None:
    rules = rule_set({f"c{i}": {"status": ["s5"], "ip": [{"cidr": f"11.{i}.0.0/24"}]} for i in range(200)})
    rules.add("wide", '{"status": ["s5"], "ip": [{"cidr": "11.0.0.0/8"}]}')
    assert hits(rules, {"status": "s5", "ip": "11.7.0.9"}) == {"c7", "wide"}
    assert hits(rules, {"status": "s5", "ip": "11.7.1.9"}) == {"wide"}
    assert hits(rules, {"status": "s5", "ip": "10.7.0.9"}) == set()
    assert hits(rules, {"status": "s4", "ip": "11.7.0.9"}) == set()
    assert hits(rules, {"status": "s5", "ip": "11.7.0"}) == set()


def test_ipv6_blocks_and_exact_addresses_written_differently(rule_set: RuleSetFactory) -> None:
    rules = rule_set(
        {
            "block": {"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]},
            "one": {"ip": ["2001:db8::1"]},
            "v4": {"ip": ["10.0.0.1"]},
        }
    )
    assert hits(rules, {"ip": "2001:0db8:1234:1a00:0000:0000:0000:0001"}) == {"block"}
    assert hits(rules, {"ip": "2001:0db8:0:0:0:0:0:1"}) == {"one"}
    assert hits(rules, {"ip": "2001:db8:1234:1a01::1"}) == set()
    assert hits(rules, {"ip": "10.0.0.1"}) == {"v4"}
    assert hits(rules, {"ip": "10.0.0.01"}) == set()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10.0.0.1", (4, 0x0A000001)),
        ("255.255.255.255", (4, 0xFFFFFFFF)),
        ("256.0.0.1", None),
        ("01.0.0.1", None),
        ("1.2.3", None),
        ("1.2.3.4.5", None),
        ("١.2.3.4", None),
        ("::1", (6, 1)),
        ("not an ip", None),
        ("", None),
    ],
)
def test_ip_parsing_agrees_with_the_ipaddress_module(text: str, expected: tuple[int, int] | None) -> None:
    assert ip_of(text) == expected
