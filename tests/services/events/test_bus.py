from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from eventmesh.clock import VIRTUAL_EPOCH
from eventmesh.effects import Delivery
from eventmesh.mesh import Mesh
from eventmesh.services.events.bus import EventBus
from eventmesh.services.events.errors import (
    InvalidEventPatternException,
    LimitExceededException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from eventmesh.services.events.records import PutEventsRequestEntry, iso_seconds
from eventmesh.services.events.service import (
    create_bus,
    default_bus,
    delete_bus,
    get_bus,
    list_buses,
    put_events,
    put_permission,
    remove_permission,
    update_bus,
)
from eventmesh.testing import VirtualDriver, virtual_mesh
from tests.services.events.helpers import ACCOUNT, REGION, recorder, sqs_arn

pytestmark = pytest.mark.usefixtures("events_engine")  # the bus's Python loop and its C twin

PATTERN = json.dumps({"source": ["my.app"]})


def entry(**overrides: Any) -> PutEventsRequestEntry:
    fields: dict[str, Any] = {"source": "my.app", "detail_type": "Order Placed", "detail": '{"n": 1}'}
    fields.update(overrides)
    return PutEventsRequestEntry(**fields)


@pytest.fixture
def env() -> tuple[Mesh, VirtualDriver, EventBus]:
    mesh, driver = virtual_mesh()
    return mesh, driver, default_bus(mesh)


def test_put_events_delivers_the_envelope_compact_and_in_aws_key_order(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn}])
    response = put_events(mesh, [entry(detail='{"n": 1, "items": [ 1, 2 ]}', resources=["arn:x"])])
    driver.run_until_idle()
    event_id = response.entries[0].event_id
    assert response.failed_entry_count == 0
    assert queue.bodies == [
        f'{{"version":"0","id":"{event_id}","detail-type":"Order Placed","source":"my.app",'
        f'"account":"{ACCOUNT}","time":"2023-11-14T22:13:20Z","region":"{REGION}","resources":["arn:x"],'
        '"detail":{"n":1,"items":[1,2]}}']
    assert queue.batches[0][2] == bus.rules["r1"].arn
    assert bus.rules["r1"].arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r1"


@pytest.mark.parametrize("detail", [
    '{"n": 1, "price": 12.50, "tags": ["a", "b"], "who": {"name": "Zo\\u00eb"}}',  # an escape, rewritten
    '{"n": 1, "price": 12.50, "tags": ["a", "b"], "who": {"name": "Zoë"}}',       # kept as its text
    '{"note": "tab\\there", "n": 1e3, "n": 2}',                                  # exponent, repeated key: decoded
])
def test_a_detail_reaches_targets_as_decoding_it_gives_whether_kept_as_text_or_not(env: Any, detail: str) -> None:
    mesh, driver, bus = env
    plain, shaped = recorder(mesh, sqs_arn("plain")), recorder(mesh, sqs_arn("shaped"))
    bus.put_rule("r1", event_pattern=json.dumps({"source": ["my.app"], "detail": {"n": [{"numeric": [">", 0]}]}}))
    bus.put_rule("r2", event_pattern=json.dumps({"detail": {"n": [{"numeric": ["<", 0]}]}}))  # never matches
    bus.put_targets("r1", [{"Id": "a", "Arn": plain.arn}, {"Id": "b", "Arn": shaped.arn, "InputPath": "$.detail"}])
    bus.put_targets("r2", [{"Id": "a", "Arn": plain.arn}])
    put_events(mesh, [entry(detail=detail)])
    driver.run_until_idle()
    expected = msgspec.json.encode(msgspec.json.decode(detail)).decode()
    [body] = plain.bodies
    assert body.endswith(f',"detail":{expected}}}')
    assert json.loads(shaped.bodies[0]) == json.loads(detail)
    assert (bus.rules["r1"].statistics().triggered_rules, bus.rules["r2"].statistics().triggered_rules) == (1, 0)


def test_entries_of_one_request_each_get_their_own_envelope(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn}])
    response = put_events(mesh, [entry(resources=["arn:a"], time=VIRTUAL_EPOCH - 3600),
                                 entry(detail_type="Second", detail='{"n": 2}')])
    driver.run_until_idle()
    first, second = (e.event_id for e in response.entries)
    assert queue.bodies == [
        f'{{"version":"0","id":"{first}","detail-type":"Order Placed","source":"my.app",'
        f'"account":"{ACCOUNT}","time":"2023-11-14T21:13:20Z","region":"{REGION}","resources":["arn:a"],'
        '"detail":{"n":1}}',
        f'{{"version":"0","id":"{second}","detail-type":"Second","source":"my.app",'
        f'"account":"{ACCOUNT}","time":"2023-11-14T22:13:20Z","region":"{REGION}","resources":[],'
        '"detail":{"n":2}}']


def test_targets_learn_which_payloads_are_the_envelope_the_bus_encoded(env: Any) -> None:
    mesh, driver, bus = env
    plain, other, shaped = recorder(mesh, sqs_arn("plain")), recorder(mesh, sqs_arn("plain2")), \
        recorder(mesh, sqs_arn("shaped"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "a", "Arn": plain.arn}, {"Id": "b", "Arn": other.arn},
                           {"Id": "c", "Arn": shaped.arn, "InputPath": "$.detail"}])
    put_events(mesh, [entry(detail='{"note": "tab\\there\\u0001"}')])
    driver.run_until_idle()
    [a], [b], [c] = plain.items, other.items, shaped.items
    assert a.json_text and b.json_text and not c.json_text   # an Input* rendering is not the envelope
    assert json.loads(a.body)["detail"] == {"note": "tab\there\u0001"} and a.body == b.body
    assert "\t" not in a.body and "\\t" in a.body   # control characters travel escaped


def test_event_time_comes_from_the_entry_or_the_virtual_clock(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn}])
    driver.advance(90.7)
    put_events(mesh, [entry(), entry(time=1_600_000_000.9)])
    driver.run_until_idle()
    times = [json.loads(b)["time"] for b in queue.bodies]
    assert times == [iso_seconds(VIRTUAL_EPOCH + 90), "2020-09-13T12:26:40Z"]


@pytest.mark.parametrize(("fields", "code", "message"), [
    ({"source": None}, "InvalidArgument",
     "Parameter Source is not valid. Reason: Source is a required argument."),
    ({"detail_type": None}, "InvalidArgument",
     "Parameter DetailType is not valid. Reason: DetailType is a required argument."),
    ({"detail": None}, "InvalidArgument",
     "Parameter Detail is not valid. Reason: Detail is a required argument."),
    ({"detail": '"a string"'}, "MalformedDetail", "Detail is malformed."),
    ({"detail": "[1, 2]"}, "MalformedDetail", "Detail is malformed."),
    ({"detail": "{not json"}, "MalformedDetail", "Detail is malformed."),
    ({"source": "aws.ec2"}, "NotAuthorizedForSourceException", "Not authorized for the source."),
])
def test_per_entry_errors_come_back_in_request_order(env: Any, fields: dict[str, Any], code: str,
                                                      message: str) -> None:
    mesh, _, _ = env
    response = put_events(mesh, [entry(), entry(**fields), entry()])
    assert response.failed_entry_count == 1
    ok1, bad, ok2 = response.entries
    assert ok1.event_id and ok2.event_id and ok1.event_id != ok2.event_id
    assert (bad.event_id, bad.error_code, bad.error_message) == (None, code, message)


def test_entry_for_a_missing_bus_is_accepted_and_dropped(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn}])
    response = put_events(mesh, [entry(event_bus_name="nope")])
    driver.run_until_idle()
    assert response.failed_entry_count == 0 and response.entries[0].event_id
    assert queue.bodies == []


def test_request_limits(env: Any) -> None:
    mesh, _, _ = env
    with pytest.raises(ValidationException, match="less than or equal to 10"):
        put_events(mesh, [entry()] * 11)
    big = '{"x": "' + "é" * 131_060 + '"}'  # < 256 K characters but over 256 KB of UTF-8
    with pytest.raises(ValidationException) as err:
        put_events(mesh, [entry(detail=big)])
    assert err.value.message == "Total size of the entries in the request is over the limit."
    assert put_events(mesh, [entry(detail='{"x": "' + "a" * 200_000 + '"}')]).failed_entry_count == 0


def test_an_event_is_matched_once_against_all_rules(env: Any) -> None:
    mesh, driver, bus = env
    q1, q2, q3 = (recorder(mesh, sqs_arn(n)) for n in ("q1", "q2", "q3"))
    bus.put_rule("by-source", event_pattern=PATTERN)
    bus.put_rule("by-type", event_pattern=json.dumps({"detail-type": ["Order Placed"]}))
    bus.put_rule("other", event_pattern=json.dumps({"source": ["other.app"]}))
    for rule, queue in (("by-source", q1), ("by-type", q2), ("other", q3)):
        bus.put_targets(rule, [{"Id": "t", "Arn": queue.arn}])
    response = put_events(mesh, [entry(), entry(detail_type="Order Shipped")])
    driver.run_until_idle()
    ids = [e.event_id for e in response.entries]
    assert [json.loads(b)["id"] for b in q1.bodies] == ids
    assert [json.loads(b)["id"] for b in q2.bodies] == ids[:1]
    assert q3.bodies == []
    assert bus.statistics().matched_events == 2
    assert [bus.rules[n].statistics().triggered_rules for n in ("by-source", "by-type", "other")] == [2, 1, 0]
    assert bus.rules["by-source"].statistics().invocations == 2


def test_events_of_one_request_reach_a_target_in_one_delivery(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn}])
    put_events(mesh, [entry(detail=json.dumps({"n": i})) for i in range(10)])
    driver.run_until_idle()
    assert len(queue.batches) == 1
    assert [json.loads(b)["detail"]["n"] for b in queue.bodies] == list(range(10))


def test_disabled_rule_does_not_match_until_enabled(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN, state="DISABLED")
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn}])
    put_events(mesh, [entry()])
    bus.set_rule_state("r1", True)
    put_events(mesh, [entry(detail='{"n": 2}')])
    bus.set_rule_state("r1", False)
    put_events(mesh, [entry(detail='{"n": 3}')])
    driver.run_until_idle()
    assert [json.loads(b)["detail"]["n"] for b in queue.bodies] == [2]


def test_put_rule_replaces_the_rule_and_keeps_its_targets(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN, description="first", tags={"a": "b"})
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn}])
    rule = bus.put_rule("r1", event_pattern=json.dumps({"source": ["other"]}), tags={"c": "d"})
    assert rule.describe() == {"Name": "r1", "Arn": rule.arn, "EventPattern": '{"source": ["other"]}',
                               "State": "ENABLED", "EventBusName": "default"}
    assert rule.tags == {"a": "b"}
    put_events(mesh, [entry(), entry(source="other")])
    driver.run_until_idle()
    assert [json.loads(b)["source"] for b in queue.bodies] == ["other"]


def test_rule_validation(env: Any) -> None:
    mesh, _, bus = env
    with pytest.raises(ValidationException):
        bus.put_rule("r1")
    with pytest.raises(InvalidEventPatternException) as err:
        bus.put_rule("r1", event_pattern='{"source": "my.app"}')
    assert err.value.message.startswith("Event pattern is not valid. Reason: ")
    custom = create_bus(mesh, "custom")
    with pytest.raises(ValidationException) as verr:
        custom.put_rule("r1", schedule_expression="rate(5 minutes)")
    assert verr.value.message == "ScheduleExpression is supported only on the default event bus."
    rule = custom.put_rule("r1", event_pattern=PATTERN)
    assert rule.arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/custom/r1"


def test_at_most_five_targets_per_rule_and_no_delete_with_targets(env: Any) -> None:
    mesh, _, bus = env
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": f"t{i}", "Arn": sqs_arn(f"q{i}")} for i in range(5)])
    bus.put_targets("r1", [{"Id": "t0", "Arn": sqs_arn("other")}])  # an update, not a sixth
    with pytest.raises(LimitExceededException) as err:
        bus.put_targets("r1", [{"Id": "t5", "Arn": sqs_arn("q5")}])
    assert err.value.message == "The requested resource exceeds the maximum number allowed."
    with pytest.raises(ValidationException, match="Rule can't be deleted since it has targets."):
        bus.delete_rule("r1")
    assert bus.remove_targets("r1", ["t0", "t1", "t2", "t3", "t4", "zz"]) == [
        {"TargetId": "zz", "ErrorCode": "ResourceNotFoundException",
         "ErrorMessage": "Target zz does not exist on rule r1."}]
    bus.delete_rule("r1")
    assert not mesh.exists(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r1")
    with pytest.raises(ResourceNotFoundException, match="Rule r1 does not exist on EventBus default."):
        bus.rule("r1")


def test_rules_per_bus_quota(env: Any) -> None:
    mesh, _, _ = env
    small = create_bus(mesh, "small", max_rules=2)
    small.put_rule("a", event_pattern=PATTERN)
    small.put_rule("b", event_pattern=PATTERN)
    with pytest.raises(LimitExceededException):
        small.put_rule("c", event_pattern=PATTERN)


def test_bus_lifecycle(env: Any) -> None:
    mesh, _, _ = env
    bus = create_bus(mesh, "orders", description="d")
    assert bus.arn == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders"
    assert get_bus(mesh, bus.arn) is bus and get_bus(mesh, "orders") is bus
    with pytest.raises(ResourceAlreadyExistsException, match="Event bus orders already exists."):
        create_bus(mesh, "orders")
    for bad in ("default", "aws.thing", "has space"):
        with pytest.raises(ValidationException):
            create_bus(mesh, bad)
    with pytest.raises(ValidationException, match="Cannot delete event bus default."):
        delete_bus(mesh, "default")
    assert [b.name for b in list_buses(mesh)] == ["default", "orders"]
    bus.put_rule("r", event_pattern=PATTERN)
    delete_bus(mesh, "orders")
    with pytest.raises(ResourceNotFoundException, match="Event bus orders does not exist."):
        get_bus(mesh, "orders")
    assert not mesh.exists(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders/r")


def test_events_reach_a_custom_bus_by_name_or_arn(env: Any) -> None:
    mesh, driver, _ = env
    bus = create_bus(mesh, "orders")
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn}])
    put_events(mesh, [entry(event_bus_name="orders"), entry(event_bus_name=bus.arn), entry()])
    driver.run_until_idle()
    assert len(queue.bodies) == 2


def test_input_transformer_shapes_the_target_payload(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [{"Id": "t1", "Arn": queue.arn, "InputTransformer": {
        "InputPathsMap": {"n": "$.detail.n", "src": "$.source"},
        "InputTemplate": '{"number": <n>, "from": "<src>", "rule": <aws.events.rule-name>}'}}])
    put_events(mesh, [entry(detail='{"n": 7}'), entry(detail='{"m": 1}')])
    driver.run_until_idle()
    assert queue.bodies == ['{"number": 7, "from": "my.app", "rule": "r1"}']
    stats = bus.rules["r1"].statistics()
    assert (stats.invocations, stats.failed_invocations) == (2, 1)  # the second fails silently


def test_fifo_group_and_kinesis_partition_keys(env: Any) -> None:
    mesh, driver, bus = env
    fifo = recorder(mesh, sqs_arn("q.fifo"))
    stream1 = recorder(mesh, f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s1")
    stream2 = recorder(mesh, f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s2")
    bus.put_rule("r1", event_pattern=PATTERN)
    bus.put_targets("r1", [
        {"Id": "f", "Arn": fifo.arn, "SqsParameters": {"MessageGroupId": "g1"}},
        {"Id": "k1", "Arn": stream1.arn},
        {"Id": "k2", "Arn": stream2.arn, "KinesisParameters": {"PartitionKeyPath": "$.detail.n"}}])
    response = put_events(mesh, [entry(detail='{"n": 42}')])
    driver.run_until_idle()
    assert fifo.items[0].group_id == "g1"
    assert stream1.items[0].partition_key == response.entries[0].event_id
    assert stream2.items[0].partition_key == "42"


def test_rule_target_may_be_another_bus_and_keeps_the_event_id(env: Any) -> None:
    mesh, driver, bus = env
    other = create_bus(mesh, "other")
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("forward", event_pattern=PATTERN)
    bus.put_targets("forward", [{"Id": "bus", "Arn": other.arn}])
    other.put_rule("sink", event_pattern=PATTERN)
    other.put_targets("sink", [{"Id": "q", "Arn": queue.arn}])
    response = put_events(mesh, [entry()])
    driver.run_until_idle()
    assert [json.loads(b)["id"] for b in queue.bodies] == [response.entries[0].event_id]


def test_lambda_destination_records_become_lambda_events(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("results", event_pattern=json.dumps({"source": ["lambda"]}))
    bus.put_targets("results", [{"Id": "q", "Arn": queue.arn}])
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    record = {"requestContext": {"condition": "RetriesExhausted"}, "responsePayload": {"x": 1}}
    result = bus.accept([Delivery(json.dumps(record))], fn)
    driver.run_until_idle()
    assert result.ok
    event = json.loads(queue.bodies[0])
    assert (event["source"], event["detail-type"], event["resources"], event["detail"]) == (
        "lambda", "Lambda Function Invocation Result - Failure", [bus.arn, fn], record)


def test_schedule_rule_fires_scheduled_events_in_virtual_time(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    rule = bus.put_rule("tick", schedule_expression="rate(5 minutes)")
    bus.put_targets("tick", [{"Id": "q", "Arn": queue.arn}])
    driver.advance(3600)
    assert len(queue.bodies) == 12
    assert [t - VIRTUAL_EPOCH for t, _, _ in queue.batches] == [300.0 * i for i in range(1, 13)]
    first = json.loads(queue.bodies[0])
    assert {k: v for k, v in first.items() if k != "id"} == {
        "version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": ACCOUNT,
        "time": iso_seconds(VIRTUAL_EPOCH + 300), "region": REGION, "resources": [rule.arn], "detail": {}}
    bus.set_rule_state("tick", False)
    driver.advance(3600)
    assert len(queue.bodies) == 12
    bus.remove_targets("tick", ["q"])
    bus.delete_rule("tick")
    assert mesh.clock.pending() == 0


def test_cron_rule_fires_at_its_minutes(env: Any) -> None:
    mesh, driver, bus = env
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("quarter", schedule_expression="cron(0/15 * * * ? *)")
    bus.put_targets("quarter", [{"Id": "q", "Arn": queue.arn}])
    driver.advance(3600)
    # VIRTUAL_EPOCH is 22:13:20: fires at 22:15, 22:30, 22:45, 23:00.
    times = [json.loads(b)["time"][11:] for b in queue.bodies]
    assert times == ["22:15:00Z", "22:30:00Z", "22:45:00Z", "23:00:00Z"]


def test_a_loop_between_buses_is_cut_and_counted_as_dead_letter_invocations(env: Any) -> None:
    mesh, driver, bus = env
    other = create_bus(mesh, "other")
    queue = recorder(mesh, sqs_arn("q"))
    bus.put_rule("to-other", event_pattern=PATTERN)
    bus.put_targets("to-other", [{"Id": "b", "Arn": other.arn}, {"Id": "q", "Arn": queue.arn}])
    other.put_rule("back", event_pattern=PATTERN)
    other.put_targets("back", [{"Id": "b", "Arn": bus.arn}])
    put_events(mesh, [entry()])
    driver.run_until_idle()
    assert len(queue.bodies) == 3  # the original and its returns after 2 and 4 hops; cut at 6
    assert other.rules["back"].statistics().dead_letter_invocations == 1


def test_rule_and_target_names_are_checked(env: Any) -> None:
    _, _, bus = env
    with pytest.raises(ValidationException, match="Member must satisfy regular expression pattern"):
        bus.put_rule("has space", event_pattern=PATTERN)
    with pytest.raises(ValidationException):
        bus.put_rule("x" * 65, event_pattern=PATTERN)
    bus.put_rule("ok.name-1_2", event_pattern=PATTERN)
    with pytest.raises(ValidationException):
        bus.put_targets("ok.name-1_2", [{"Id": "bad id", "Arn": sqs_arn("q")}])


def test_put_permission_adds_replaces_and_removes_statements(env: Any) -> None:
    mesh, driver, bus = env
    put_permission(mesh, None, action="events:PutEvents", principal="111122223333", statement_id="one")
    put_permission(mesh, None, action="events:PutEvents", principal="*", statement_id="two",
                   condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-1"})
    put_permission(mesh, None, action="events:PutEvents", principal="444455556666", statement_id="one")
    assert bus.policy is not None
    statements = bus.policy["Statement"]
    assert [s["Sid"] for s in statements] == ["two", "one"]
    assert statements[0]["Principal"] == "*"
    assert statements[0]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}
    assert statements[1]["Principal"] == {"AWS": "arn:aws:iam::444455556666:root"}
    assert statements[1]["Resource"] == bus.arn
    with pytest.raises(ResourceNotFoundException, match="Statement with the provided id does not exist."):
        remove_permission(mesh, None, "three")
    remove_permission(mesh, None, "one")
    remove_permission(mesh, None, "two")
    assert bus.policy is None


def test_put_permission_checks_its_members_and_a_whole_policy(env: Any) -> None:
    mesh, _, bus = env
    with pytest.raises(ValidationException, match="Parameter Principal is required."):
        put_permission(mesh, None, action="events:PutEvents", statement_id="s")
    with pytest.raises(ValidationException, match="Parameter Policy is not valid."):
        put_permission(mesh, None, policy="[1, 2]")
    with pytest.raises(ValidationException, match="Parameter StatementId is required."):
        remove_permission(mesh, None, None)
    put_permission(mesh, None, policy='{"Version": "2012-10-17", "Statement": []}')
    assert bus.policy == {"Version": "2012-10-17", "Statement": []}
    remove_permission(mesh, None, None, remove_all=True)
    assert bus.policy is None
    with pytest.raises(ResourceNotFoundException):
        put_permission(mesh, "nope", action="events:PutEvents", principal="*", statement_id="s")


def test_update_bus_changes_description_and_modified_time(env: Any) -> None:
    mesh, driver, _ = env
    bus = create_bus(mesh, "b")
    driver.advance(30)
    update_bus(mesh, "b", description="orders", dead_letter_config={"Arn": sqs_arn("dlq")})
    assert (bus.description, bus.dead_letter_config) == ("orders", {"Arn": sqs_arn("dlq")})
    assert bus.modified == VIRTUAL_EPOCH + 30
