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


def test_a_resources_stream_depends_on_the_seed_and_its_arn_only() -> None:
    from eventmesh.testing import virtual_mesh

    arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    quiet, _ = virtual_mesh(seed=5)
    busy, _ = virtual_mesh(seed=5)
    busy.ids.uuid()
    busy.ids_for("arn:aws:sqs:us-east-1:000000000000:other").uuid()
    assert [quiet.ids_for(arn).uuid() for _ in range(3)] == [busy.ids_for(arn).uuid() for _ in range(3)]
    assert virtual_mesh(seed=6)[0].ids_for(arn).uuid() != virtual_mesh(seed=5)[0].ids_for(arn).uuid()
    assert IdGenerator.for_key(None, arn).uuid() != IdGenerator.for_key(None, arn).uuid()   # unseeded: the OS
