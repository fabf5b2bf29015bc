from __future__ import annotations

import pytest

from eventmesh.effects import Available, Deliver, Delivery, DeliveryResult, Outcome
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
        return DeliveryResult()

    def close(self) -> None:
        self.closed = True


def test_resources_are_keyed_by_arn_and_listed_by_service() -> None:
    mesh, _ = virtual_mesh()
    sink = mesh.add(Sink(mesh.arn("sqs", "a")))
    assert sink.arn == "arn:aws:sqs:us-east-1:000000000000:a"
    assert mesh.get(sink.arn, Sink) is sink and mesh.find(sink.arn, Mesh) is None
    assert list(mesh.resources("sqs")) == [sink] and list(mesh.resources("sns")) == []
    mesh.remove(sink.arn)
    assert sink.closed
    with pytest.raises(ResourceNotFoundException):
        mesh.get(sink.arn, Sink)


def test_deliver_effect_reaches_the_target_and_replies() -> None:
    mesh, driver = virtual_mesh()
    sink = mesh.add(Sink(mesh.arn("sqs", "a")))
    replies: list[DeliveryResult] = []
    mesh.emit(Deliver(sink.arn, [Delivery("x"), Delivery("y")], reply_to=mesh.expect(replies.append)))
    mesh.emit(Deliver(mesh.arn("sqs", "missing"), [Delivery("z")], reply_to=mesh.expect(replies.append)))
    driver.run_until_idle()
    assert sink.got == ["x", "y"]
    assert [r.ok for r in replies] == [True, False]
    assert replies[1].kind is Outcome.MISSING and replies[1].code == "ResourceNotFoundException"
    assert mesh.waiting_replies() == 0


def test_deliver_is_emit_of_a_deliver_effect_with_a_reply_token() -> None:
    mesh, driver = virtual_mesh()
    sink = mesh.add(Sink(mesh.arn("sqs", "a")))
    replies: list[DeliveryResult] = []
    before = mesh.expect(replies.append)
    mesh.deliver(sink.arn, [Delivery("x")], "arn:source", replies.append)
    effect = mesh.outbox[-1]
    assert isinstance(effect, Deliver)
    assert (effect.target_arn, effect.source_arn, effect.reply_to) == (sink.arn, "arn:source", before + 1)
    mesh.reply(before, DeliveryResult(Outcome.FAILED))
    driver.run_until_idle()
    assert sink.got == ["x"]
    assert [r.kind for r in replies] == [Outcome.FAILED, Outcome.DELIVERED]
    assert mesh.waiting_replies() == 0


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


def test_every_effect_is_plain_data_that_frames_to_another_process() -> None:
    import msgspec

    from eventmesh.effects import Effect, HttpRequest, InvocationJob, RunInvocation

    job = InvocationJob("python", "m:f", b"{}", "rid", "f", "$LATEST", "arn:f", 128, 3.0, "us-east-1", "1")
    effects: list[Effect] = [
        Deliver("arn:aws:sqs:us-east-1:1:q", [Delivery("x", group_id="g")], "arn:src", 7),
        Available("arn:aws:sqs:us-east-1:1:q"),
        HttpRequest("http://127.0.0.1:9/", "POST", {"a": "b"}, "body", 5.0, 8),
        RunInvocation(job, b"zip", 9),
    ]
    frame = msgspec.msgpack.encode(effects)
    assert msgspec.msgpack.decode(frame, type=list[Effect]) == effects


def test_an_answer_reaches_its_callback_once_and_unknown_tokens_are_ignored() -> None:
    mesh, _ = virtual_mesh()
    answers: list[object] = []
    token = mesh.expect(answers.append)
    mesh.reply(token, "first")
    mesh.reply(token, "again")
    mesh.reply(12345, "nobody")
    assert answers == ["first"] and mesh.waiting_replies() == 0


def test_account_level_state_has_one_typed_home_per_mesh() -> None:
    from eventmesh.services.lambda_.pool import AccountPool

    one, _ = virtual_mesh()
    two, _ = virtual_mesh()
    assert one.state(AccountPool) is one.state(AccountPool)
    assert one.state(AccountPool) is not two.state(AccountPool)
    assert list(one.resources()) == []  # state is not a resource at an invented ARN


def test_a_scope_shares_the_engine_but_lists_and_keeps_state_for_its_own_account_and_region() -> None:
    from eventmesh.services.lambda_.pool import AccountPool

    mesh, driver = virtual_mesh()
    west = mesh.scope(region="eu-west-1")
    assert west is mesh.scope(mesh.account_id, "eu-west-1") and mesh.scope() is mesh
    east_sink = mesh.add(Sink(mesh.arn("sqs", "a")))
    west_sink = west.add(Sink(west.arn("sqs", "a")))
    assert west_sink.arn == "arn:aws:sqs:eu-west-1:000000000000:a"
    assert list(mesh.resources("sqs")) == [east_sink] and list(west.resources("sqs")) == [west_sink]
    assert list(mesh.all_resources()) == [east_sink, west_sink]
    assert west.state(AccountPool) is not mesh.state(AccountPool)
    assert {id(west.state(AccountPool)), id(mesh.state(AccountPool))} <= {id(s) for s in mesh.states()}
    # One engine: an effect emitted in one scope reaches a resource of another by ARN.
    west.emit(Deliver(east_sink.arn, [Delivery("across")]))
    driver.run_until_idle()
    assert east_sink.got == ["across"]
