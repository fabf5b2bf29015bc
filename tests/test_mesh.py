from __future__ import annotations

import pytest

from eventmesh.effects import Available, Deliver, Delivery, DeliveryResult
from eventmesh.errors import ResourceNotFoundException
from eventmesh.mesh import Mesh
from eventmesh.testing import virtual_mesh


class Sink:
    def __init__(self, arn: str) -> None:
        self.arn = arn
        self.got: list[str] = []
        self.closed = False

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.got += [item.body for item in items]
        return DeliveryResult(True)

    def close(self) -> None:
        self.closed = True


def test_resources_are_keyed_by_arn_and_listed_by_service() -> None:
    mesh, _ = virtual_mesh()
    sink = mesh.add(Sink(mesh.arn("sqs", "a")))
    assert sink.arn == "arn:aws:sqs:us-east-1:000000000000:a"
    assert mesh.get(sink.arn) is sink
    assert list(mesh.resources("sqs")) == [sink] and list(mesh.resources("sns")) == []
    mesh.remove(sink.arn)
    assert sink.closed
    with pytest.raises(ResourceNotFoundException):
        mesh.get(sink.arn)


def test_deliver_effect_reaches_the_target_and_replies() -> None:
    mesh, driver = virtual_mesh()
    sink = mesh.add(Sink(mesh.arn("sqs", "a")))
    replies: list[DeliveryResult] = []
    mesh.emit(Deliver(sink.arn, [Delivery("x"), Delivery("y")], reply=replies.append))
    mesh.emit(Deliver(mesh.arn("sqs", "missing"), [Delivery("z")], reply=replies.append))
    driver.run_until_idle()
    assert sink.got == ["x", "y"]
    assert [r.ok for r in replies] == [True, False]
    assert replies[1].error == "ResourceNotFoundException"


def test_effects_emitted_in_timers_are_carried_out() -> None:
    mesh, driver = virtual_mesh()
    woken: list[str] = []
    mesh.subscribe(Available, lambda e: woken.append(e.arn))
    mesh.clock.call_later(30, lambda: mesh.emit(Available("q")))
    driver.advance(29)
    assert woken == []
    driver.advance(1)
    assert woken == ["q"]


def test_two_meshes_share_nothing() -> None:
    a, b = Mesh(seed=1), Mesh(seed=1, account_id="111111111111", region="eu-west-1")
    a.add(Sink(a.arn("sqs", "q")))
    assert list(b.resources()) == []
    assert b.arn("sqs", "q") == "arn:aws:sqs:eu-west-1:111111111111:q"
    assert a.ids.uuid() == b.ids.uuid()  # same seed, same ids: reproducible runs
