"""``cidr`` (IPv4 and IPv6), and exact strings that are IP addresses
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-ip-matching).

As in event-ruler, an exact pattern string that is an IP address compiles to a one-address range, so
``"2001:db8::1"`` matches ``"2001:0db8:0:0:0:0:0:1"``. Errors: ``Malformed CIDR, one '/' required``,
``Malformed CIDR, mask bits must be an integer``, ``Nonstandard IP address: <ip>``.

Index: an event string on an edge with IP conditions is parsed once (dotted-quad IPv4 without the
ipaddress module, the rest with it); the address then stabs one interval index per IP version
(ops/numeric.py): O(log n) plus the next states found, updated in place by add/remove.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from eventmesh.patterns._errors import PatternSyntaxError
from eventmesh.patterns.ops import Condition, Family
from eventmesh.patterns.ops.numeric import IntervalIndex

__all__ = ["Cidr", "ExactIp", "parse_cidr", "exact_ip", "ip_of", "CidrFamily"]

_IP_CHARS = frozenset("0123456789abcdefABCDEF:.")
_IPV6_MAX_CHARS = 45
_BITS = {4: 32, 6: 128}
_OCTET_MAX = 255
_OCTET_MAX_DIGITS = 3


def _ipv4(text: str) -> int | None:
    """A dotted quad as ipaddress reads it (decimal octets, no leading zeros), as an int."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (part.isdigit() and part.isascii()) or len(part) > _OCTET_MAX_DIGITS:
            return None
        if len(part) > 1 and part[0] == "0":
            return None
        octet = int(part)
        if octet > _OCTET_MAX:
            return None
        value = (value << 8) | octet
    return value


def ip_of(text: str) -> tuple[int, int] | None:
    """(version, address as int) for a standard IPv4/IPv6 address, else None."""
    if not text or len(text) > _IPV6_MAX_CHARS:
        return None
    if ":" not in text:
        v4 = _ipv4(text)
        return None if v4 is None else (4, v4)
    if not _IP_CHARS.issuperset(text):
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


class CidrFamily(Family):
    """CIDR blocks and exact IP addresses on one edge, one interval index per IP version."""

    __slots__ = ("indexes",)
    name = "cidr"

    def __init__(self) -> None:
        super().__init__()
        self.indexes: dict[int, IntervalIndex] = {}

    def _added(self, cond: Cidr, target: Any) -> bool:
        index = self.indexes.get(cond.version)
        if index is None:
            index = self.indexes[cond.version] = IntervalIndex()
        return not index.insert((cond.low, False, cond.high, False, target))

    def _removed(self, cond: Cidr, target: Any) -> bool:
        return not self.indexes[cond.version].delete((cond.low, False, cond.high, False, target))

    def rebuild(self) -> None:
        by_version: dict[int, list[tuple[Any, bool, Any, bool, Any]]] = {}
        for cond, targets in self.targets.items():
            c: Cidr = cond  # type: ignore[assignment]
            for target in targets:
                by_version.setdefault(c.version, []).append((c.low, False, c.high, False, target))
        self.indexes = {version: IntervalIndex(ranges) for version, ranges in by_version.items()}

    def on_str(self, value: str, out: list[Any]) -> None:  # type: ignore[override]
        ip = ip_of(value)
        if ip is not None:
            index = self.indexes.get(ip[0])
            if index is not None:
                found = index.hits(ip[1])
                if found:
                    out += found

    def sizeof_items(self) -> list[Any]:
        return [self.targets, self.indexes, *(i for index in self.indexes.values() for i in index.sizeof_items())]
