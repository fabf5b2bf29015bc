"""Frames: every item survives msgpack, effects keep their types."""

from __future__ import annotations

from eventmesh.effects import (
    Available,
    Deliver,
    Delivery,
    DeliveryResult,
    HandlerOutcome,
    HttpResponse,
    InvocationJob,
    Outcome,
    RunInvocation,
)
from eventmesh.partition import Answer, Carry, Forward, Frame, HandlerAnswer, HttpAnswer, decode_frame, encode_frame


def test_every_item_round_trips_with_its_types() -> None:
    job = InvocationJob("python", "m:f", b"{}", "req-1", "f", "$LATEST", "arn:aws:lambda:us-east-1:1:function:f",
                        128, 3.0, "us-east-1", "000000000000")
    frame = Frame(1, [
        Carry(Deliver("arn:aws:sqs:us-east-1:000000000000:q", [Delivery("b", {"a": {"DataType": "String",
                                                                                 "StringValue": "v"}},
                                                                       group_id="g")],
                      "arn:aws:events:us-east-1:000000000000:rule/r", 7), 1.25, (12, 3)),
        Answer(7, DeliveryResult(Outcome.THROTTLED, "ThrottlingException", "slow down"), 2.5, (5, 1)),
        HandlerAnswer(8, HandlerOutcome(b"null", duration_s=0.5)),
        HttpAnswer(9, HttpResponse(503)),
        Forward(Available("arn:aws:sqs:us-east-1:000000000000:q")),
        Forward(RunInvocation(job, None, 11)),
    ])
    back = decode_frame(encode_frame(frame))
    assert back == frame
    assert back.items[1].result.kind is Outcome.THROTTLED        # type: ignore[union-attr]
    assert isinstance(back.items[5].effect, RunInvocation)       # type: ignore[union-attr]



def test_deliveries_of_bare_bodies_travel_as_strings_and_come_back_the_same() -> None:
    from eventmesh.partition import Bodies, carry

    bare = Deliver("arn:aws:sqs:us-east-1:000000000000:q", [Delivery('{"a": 1}'), Delivery("b")],
                   "arn:aws:sns:us-east-1:000000000000:t", 4)
    item = carry(bare, 3.5, (9, 2))
    assert isinstance(item, Bodies) and item.bodies == ['{"a": 1}', "b"]
    back = decode_frame(encode_frame(Frame(0, [item]))).items[0]
    assert back.deliver() == bare and back.when == 3.5 and back.order == (9, 2)   # type: ignore[union-attr]
    for extra in ({"group_id": "g"}, {"trace_header": "Root=1-a"}, {"attributes": {"k": {"DataType": "String",
                                                                                           "StringValue": "v"}}}):
        rich = Deliver(bare.target_arn, [Delivery("x"), Delivery("y", **extra)], bare.source_arn)  # type: ignore[arg-type]
        assert isinstance(carry(rich), Carry)
