"""``cidr`` (IPv4 and IPv6), and exact strings that are IP addresses.

As in event-ruler, an exact pattern string that is an IP address compiles to a one-address range, so
``"2001:db8::1"`` matches ``"2001:0db8:0:0:0:0:0:1"``. Event strings on a field with IP conditions are
parsed once; address ranges use the same interval index as numbers: O(log n) per value.
Errors (spec eventbridge.md §4): ``Malformed CIDR, one '/' required``, ``Malformed CIDR, mask bits
must be an integer``, ``Nonstandard IP address: <ip>``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from eventmesh.patterns._errors import PatternSyntaxError
from eventmesh.patterns.ops import Collectors, Condition, Hit, Masks, apply_hits
from eventmesh.patterns.ops.numeric import IntervalIndex

__all__ = ["Cidr", "ExactIp", "parse_cidr", "ip_of", "build_cidr"]

_IP_CHARS = frozenset("0123456789abcdefABCDEF:.")
_IPV6_MAX_CHARS = 45
_BITS = {4: 32, 6: 128}


def ip_of(text: str) -> tuple[int, int] | None:
    """(version, address as int) for a standard IPv4/IPv6 address, else None."""
    if not text or len(text) > _IPV6_MAX_CHARS or not _IP_CHARS.issuperset(text):
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return addr.version, int(addr)


class Cidr(Condition):
    __slots__ = ("version", "low", "high", "text")
    family = "cidr"

    def __init__(self, version: int, low: int, high: int, text: str) -> None:
        self.version, self.low, self.high, self.text = version, low, high, text

    def matches(self, value: Any) -> bool:
        if type(value) is not str:
            return False
        ip = ip_of(value)
        return ip is not None and ip[0] == self.version and self.low <= ip[1] <= self.high

    def describe(self) -> str:
        return f'{{"cidr": "{self.text}"}}'

    def _key(self) -> Any:
        return (self.version, self.low, self.high)


class ExactIp(Cidr):
    """An exact pattern string that is an IP address."""

    __slots__ = ()

    def describe(self) -> str:
        return f'"{self.text}"'


def exact_ip(text: str) -> ExactIp | None:
    ip = ip_of(text)
    if ip is None:
        return None
    return ExactIp(ip[0], ip[1], ip[1], text)


def parse_cidr(text: str) -> Cidr:
    parts = text.split("/")
    if len(parts) != 2:
        raise PatternSyntaxError("Malformed CIDR, one '/' required")
    address, mask_text = parts
    try:
        mask = int(mask_text)
    except ValueError:
        raise PatternSyntaxError("Malformed CIDR, mask bits must be an integer") from None
    ip = ip_of(address)
    if ip is None:
        raise PatternSyntaxError(f"Nonstandard IP address: {address}")
    version, value = ip
    bits = _BITS[version]
    if not 0 <= mask <= bits:
        raise PatternSyntaxError(f"Malformed CIDR, mask bits must be between 0 and {bits}")
    host = (1 << (bits - mask)) - 1
    low = value & ~host
    return Cidr(version, low, low | host, text)


def build_cidr(entries: Sequence[tuple[Cidr, Hit]]) -> Collectors:
    indexes = {
        version: IntervalIndex([(c.low, False, c.high, False, h) for c, h in entries if c.version == version])
        for version in {c.version for c, _ in entries}
    }

    def on_str(value: str, masks: Masks) -> None:
        ip = ip_of(value)
        if ip is not None:
            index = indexes.get(ip[0])
            if index is not None:
                hits = index.hits(ip[1])
                if hits:
                    apply_hits(hits, masks)

    return Collectors(on_str=on_str)
