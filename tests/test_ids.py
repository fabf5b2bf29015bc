from __future__ import annotations

import random
import uuid

from eventmesh.ids import IdGenerator, uuid4_from


def test_uuid4_from_matches_the_standard_library_text() -> None:
    source = random.Random(7)
    for _ in range(500):
        bits = source.getrandbits(128)
        assert uuid4_from(bits) == str(uuid.UUID(int=bits, version=4))


def test_seeded_generators_repeat_their_ids() -> None:
    a, b = IdGenerator(3), IdGenerator(3)
    assert [a.uuid() for _ in range(3)] == [b.uuid() for _ in range(3)]
    assert a.token() == b.token() and len(a.token()) == 48
