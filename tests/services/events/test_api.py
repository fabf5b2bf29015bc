"""The EventBridge adapter in process: model-shaped requests in, model-shaped results out."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from eventmesh.effects import Delivery, DeliveryResult
from eventmesh.mesh import Mesh
from eventmesh.services import adapters
from eventmesh.services.events.errors import (
    InvalidEventPatternException,
    ResourceNotFoundException,
    ValidationException,
)
from eventmesh.testing import virtual_mesh
from eventmesh.wire.router import Api

pytestmark = pytest.mark.usefixtures("events_engine")  # the bus's Python loop and its C twin

PATTERN = json.dumps({"source": ["my.app"]})


def sqs_arn(name: str) -> str:
    return f"arn:aws:sqs:us-east-1:000000000000:{name}"


class Recorder:
    def __init__(self, arn: str) -> None:
        self.arn = arn
        self.bodies: list[str] = []

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.bodies += [item.body for item in items]
        return DeliveryResult()


def recorder(mesh: Mesh, arn: str) -> Recorder:
    return mesh.add(Recorder(arn))  # type: ignore[no-any-return]


@pytest.fixture
def api() -> Any:
    mesh, driver = virtual_mesh()
    api = Api(mesh, adapters(["events"]))
    api.driver = driver  # type: ignore[attr-defined]
    return api


def call(api: Api, operation: str, **params: Any) -> Any:
    result = api.call("events", operation, params)
    return msgspec.to_builtins(result) if isinstance(result, msgspec.Struct) else result


def test_rule_to_queue_through_an_input_transformer(api: Any) -> None:
    queue = recorder(api.mesh, sqs_arn("q"))
    arn = call(api, "PutRule", Name="r1", EventPattern=PATTERN)["RuleArn"]
    assert arn == "arn:aws:events:us-east-1:000000000000:rule/r1"
    assert call(api, "PutTargets", Rule="r1", Targets=[{
        "Id": "q", "Arn": queue.arn,
        "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": '{"got": <n>}'}}]) == {
        "FailedEntryCount": 0, "FailedEntries": []}
    out = call(api, "PutEvents", Entries=[
        {"Source": "my.app", "DetailType": "T", "Detail": '{"n": 5}', "Time": 1_700_000_000},
        {"Source": "my.app", "DetailType": "T"}])
    api.driver.run_until_idle()
    assert out["FailedEntryCount"] == 1
    assert set(out["Entries"][0]) == {"EventId"}
    assert out["Entries"][1] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Detail is not valid. Reason: Detail is a required argument."}
    assert queue.bodies == ['{"got": 5}']


def test_describe_list_enable_disable_rules(api: Any) -> None:
    call(api, "CreateEventBus", Name="orders", Tags=[{"Key": "team", "Value": "a"}])
    for name in ("b-rule", "a-rule", "c-rule"):
        call(api, "PutRule", Name=name, EventPattern=PATTERN, EventBusName="orders")
    call(api, "DisableRule", Name="b-rule", EventBusName="orders")
    described = call(api, "DescribeRule", Name="b-rule", EventBusName="orders")
    assert described["State"] == "DISABLED" and described["EventBusName"] == "orders"
    first = call(api, "ListRules", EventBusName="orders", Limit=2)
    assert [r["Name"] for r in first["Rules"]] == ["a-rule", "b-rule"]
    second = call(api, "ListRules", EventBusName="orders", Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in second["Rules"]] == ["c-rule"] and "NextToken" not in second
    call(api, "EnableRule", Name="b-rule", EventBusName="orders")
    assert call(api, "DescribeRule", Name="b-rule", EventBusName="orders")["State"] == "ENABLED"
    bus_arn = call(api, "DescribeEventBus", Name="orders")["Arn"]
    assert call(api, "ListTagsForResource", ResourceARN=bus_arn) == {"Tags": [{"Key": "team", "Value": "a"}]}
    assert [b["Name"] for b in call(api, "ListEventBuses")["EventBuses"]] == ["default", "orders"]
    with pytest.raises(ResourceNotFoundException, match="Rule nope does not exist on EventBus orders."):
        call(api, "DescribeRule", Name="nope", EventBusName="orders")


def test_targets_listing_and_lookup_by_target(api: Any) -> None:
    call(api, "PutRule", Name="r1", EventPattern=PATTERN)
    call(api, "PutRule", Name="r2", EventPattern=PATTERN)
    target = {"Id": "t", "Arn": sqs_arn("q"), "RetryPolicy": {"MaximumRetryAttempts": 3}}
    call(api, "PutTargets", Rule="r1", Targets=[target])
    call(api, "PutTargets", Rule="r2", Targets=[target])
    assert call(api, "ListTargetsByRule", Rule="r1") == {"Targets": [target]}
    assert call(api, "ListRuleNamesByTarget", TargetArn=sqs_arn("q")) == {"RuleNames": ["r1", "r2"]}
    assert call(api, "RemoveTargets", Rule="r1", Ids=["t"]) == {"FailedEntryCount": 0, "FailedEntries": []}
    call(api, "DeleteRule", Name="r1")
    assert call(api, "ListRuleNamesByTarget", TargetArn=sqs_arn("q")) == {"RuleNames": ["r2"]}


def test_test_event_pattern(api: Any) -> None:
    event = json.dumps({"id": "1", "account": "000000000000", "source": "my.app",
                        "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
                        "detail-type": "T", "detail": {}})
    assert call(api, "TestEventPattern", EventPattern=PATTERN, Event=event) == {"Result": True}
    other = json.dumps({"source": ["x"]})
    assert call(api, "TestEventPattern", EventPattern=other, Event=event) == {"Result": False}
    with pytest.raises(ValidationException, match="Parameter Event is not valid."):
        call(api, "TestEventPattern", EventPattern=PATTERN, Event='{"source": "my.app"}')
    with pytest.raises(InvalidEventPatternException):
        call(api, "TestEventPattern", EventPattern='{"source": "my.app"}', Event=event)


def test_archive_and_replay_operations(api: Any) -> None:
    bus_arn = call(api, "DescribeEventBus")["Arn"]
    archive_arn = call(api, "CreateArchive", ArchiveName="a", EventSourceArn=bus_arn)["ArchiveArn"]
    call(api, "PutEvents", Entries=[{"Source": "my.app", "DetailType": "T", "Detail": "{}"}])
    assert call(api, "DescribeArchive", ArchiveName="a")["EventCount"] == 1
    assert [a["ArchiveName"] for a in call(api, "ListArchives")["Archives"]] == ["a"]
    now = api.mesh.clock.now()
    started = call(api, "StartReplay", ReplayName="r", EventSourceArn=archive_arn, EventStartTime=now - 10,
                   EventEndTime=now + 10, Destination={"Arn": bus_arn})
    assert started["State"] == "STARTING"
    api.driver.run_until_idle()
    assert call(api, "DescribeReplay", ReplayName="r")["State"] == "COMPLETED"
    assert [r["ReplayName"] for r in call(api, "ListReplays")["Replays"]] == ["r"]
    assert [r["ReplayName"] for r in call(api, "ListReplays", State="COMPLETED")["Replays"]] == ["r"]
    assert call(api, "ListArchives", NamePrefix="b")["Archives"] == []
    for operation, state in (("ListArchives", "ENABLED"), ("ListReplays", "COMPLETED")):  # one filter at most
        with pytest.raises(ValidationException, match=f"At most one filter is allowed for {operation}. "
                                                      "Use either : State, EventSourceArn, or NamePrefix."):
            call(api, operation, NamePrefix="a", State=state)
    call(api, "UpdateArchive", ArchiveName="a", RetentionDays=3)
    call(api, "DeleteArchive", ArchiveName="a")
    assert call(api, "ListArchives") == {"Archives": []}


def test_connections_and_api_destinations(api: Any) -> None:
    conn = call(api, "CreateConnection", Name="c", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    assert conn["ConnectionState"] == "AUTHORIZED"
    dest = call(api, "CreateApiDestination", Name="d", ConnectionArn=conn["ConnectionArn"],
                InvocationEndpoint="http://127.0.0.1:1/x", HttpMethod="POST")
    assert dest["ApiDestinationArn"].startswith("arn:aws:events:us-east-1:000000000000:api-destination/d/")
    assert call(api, "DescribeApiDestination", Name="d")["HttpMethod"] == "POST"
    assert [d["Name"] for d in call(api, "ListApiDestinations")["ApiDestinations"]] == ["d"]
    call(api, "DeleteApiDestination", Name="d")
    assert call(api, "DeleteConnection", Name="c")["ConnectionState"] == "DELETING"


def test_put_events_limits_come_back_as_validation_errors(api: Any) -> None:
    entry = {"Source": "my.app", "DetailType": "T", "Detail": "{}"}
    with pytest.raises(ValidationException):
        call(api, "PutEvents", Entries=[entry] * 11)
    with pytest.raises(ValidationException):
        call(api, "PutEvents", Entries="nope")


def test_config_declares_buses_rules_and_targets(api: Any, tmp_path: Any) -> None:
    from eventmesh.config import apply_config, load_config

    queue = recorder(api.mesh, sqs_arn("from-config"))
    path = tmp_path / "events.yaml"
    path.write_text(
        "resources:\n"
        "  events:\n"
        "    buses:\n"
        "      - Name: orders\n"
        "    rules:\n"
        "      - Name: placed\n"
        "        EventBusName: orders\n"
        "        EventPattern: {source: [shop], detail-type: [Order Placed]}\n"
        "        Targets:\n"
        f"          - {{Id: q, Arn: '{queue.arn}', InputPath: $.detail}}\n")
    apply_config(load_config(path), api)
    call(api, "PutEvents", Entries=[{"Source": "shop", "DetailType": "Order Placed", "Detail": '{"id": 1}',
                                     "EventBusName": "orders"}])
    api.driver.run_until_idle()
    assert queue.bodies == ['{"id":1}']


def test_statistics_reach_prometheus(api: Any) -> None:
    from prometheus_client.exposition import generate_latest

    from eventmesh.metrics import registry_for

    queue = recorder(api.mesh, sqs_arn("q"))
    call(api, "PutRule", Name="r1", EventPattern=PATTERN)
    call(api, "PutTargets", Rule="r1", Targets=[{"Id": "q", "Arn": queue.arn}])
    call(api, "PutEvents", Entries=[{"Source": "my.app", "DetailType": "T", "Detail": "{}"}] * 3)
    api.driver.run_until_idle()
    text = generate_latest(registry_for(api.mesh)).decode()
    assert 'aws_events_invocations_total{event_bus_name="default",rule_name="r1"} 3.0' in text
    assert 'aws_events_triggered_rules_total{event_bus_name="default",rule_name="r1"} 3.0' in text
    assert 'aws_events_matched_events_total{event_bus_name="default"} 3.0' in text
    # One sample per event invoked (three events, one batch to the target).
    assert 'aws_events_ingestion_to_invocation_start_latency_seconds_count{event_bus_name="default"} 3.0' in text
