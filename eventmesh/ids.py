"""Identifiers: message ids, request ids, receipt handles, sequence numbers.

In virtual mode the mesh seeds the generator so a run is reproducible id for id; the daemon seeds
from the operating system. ``IdGenerator.for_key(seed, key)`` is the stream of one resource
(``Mesh.ids_for(arn)``): what a resource draws while it runs then depends on the seed and its
ARN only, not on which other resources share its process or in what order they drew (a
partitioned simulation gives the same ids as one process). ``stable_hash`` is a hash of text that
is the same in every process, whatever ``PYTHONHASHSEED`` says.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["IdGenerator", "stable_hash", "uuid4_from"]

_UUID_VERSION_MASK = 0xF000 << 64
_UUID_VERSION_4 = 0x4000 << 64
_UUID_VARIANT_MASK = 0xC << 60
_UUID_VARIANT_RFC4122 = 0x8 << 60


def stable_hash(text: str) -> int:
    """A 63-bit hash of ``text`` that every process and Python version computes alike (BLAKE2b),
    unlike ``hash(str)``, which ``PYTHONHASHSEED`` salts per process."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


def uuid4_from(bits: int) -> str:
    """A UUID v4 string from 128 random bits: the same text as ``str(uuid.UUID(int=bits,
    version=4))`` at half the cost (hot paths draw one per event or message)."""
    value = (bits & ~_UUID_VERSION_MASK | _UUID_VERSION_4) & ~_UUID_VARIANT_MASK | _UUID_VARIANT_RFC4122
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class IdGenerator:
    """UUID-shaped ids drawn from a seeded random source (never global state)."""

    __slots__ = ("_random",)

    def __init__(self, seed: int | str | None = None) -> None:
        self._random = random.Random(seed)

    @classmethod
    def for_key(cls, seed: int | None, key: str) -> IdGenerator:
        """The stream of ``key`` (a resource's ARN) under ``seed``; unseeded: from the OS."""
        return cls(None if seed is None else f"{seed}/{key}")  # str seeds hash with SHA-512: stable

    @property
    def random(self) -> random.Random:
        return self._random

    def uuid(self) -> str:
        return uuid4_from(self._random.getrandbits(128))

    def token(self, nbytes: int = 24) -> str:
        """An opaque url-safe token (receipt handles, iterators)."""
        return self._random.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()
