"""Identifiers: message ids, request ids, receipt handles, sequence numbers.

In virtual mode the mesh seeds the generator so a run is reproducible id for id; the daemon seeds
from the operating system.
"""

from __future__ import annotations

import random
import uuid

__all__ = ["IdGenerator"]


class IdGenerator:
    """UUID-shaped ids drawn from a seeded random source (never global state)."""

    __slots__ = ("_random",)

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    @property
    def random(self) -> random.Random:
        return self._random

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def token(self, nbytes: int = 24) -> str:
        """An opaque url-safe token (receipt handles, iterators)."""
        return self._random.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()
