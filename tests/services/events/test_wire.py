"""boto3 against the daemon (virtual clock): EventBridge over AWS JSON 1.1, SQS queues as targets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle, serve_in_thread

PATTERN = json.dumps({"source": ["shop.orders"]})


@pytest.fixture(scope="module")
def daemon() -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual")
    try:
        yield handle
    finally:
        handle.stop()


def client(handle: ServerHandle, service: str) -> Any:
    return boto3.client(service, endpoint_url=handle.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))


def queue_arn(handle: ServerHandle, name: str) -> str:
    sqs = client(handle, "sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def bodies(handle: ServerHandle, name: str) -> list[str]:
    """Every message now in the queue, received and deleted through boto3 SQS."""
    sqs = client(handle, "sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    out: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        out += [m["Body"] for m in messages]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return out


def test_rule_to_sqs_through_an_input_transformer(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    target = queue_arn(daemon, "transformed")
    events.put_rule(Name="orders", EventPattern=PATTERN)
    events.put_targets(Rule="orders", Targets=[{
        "Id": "q", "Arn": target,
        "InputTransformer": {"InputPathsMap": {"id": "$.detail.order-id", "total": "$.detail.total"},
                             "InputTemplate": '{"order": <id>, "total": <total>, "note": "order <id>"}'}}])
    out = events.put_events(Entries=[
        {"Source": "shop.orders", "DetailType": "Order Placed",
         "Detail": json.dumps({"order-id": "o-1", "total": 9.5})},
        {"Source": "shop.orders", "DetailType": "Order Placed", "Detail": "[1]"}])
    assert out["FailedEntryCount"] == 1
    assert out["Entries"][1] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert bodies(daemon, "transformed") == ['{"order": "o-1", "total": 9.5, "note": "order o-1"}']


def test_errors_come_back_as_aws_json_errors(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    with pytest.raises(ClientError) as err:
        events.describe_rule(Name="missing")
    assert err.value.response["Error"] == {"Code": "ResourceNotFoundException",
                                           "Message": "Rule missing does not exist on EventBus default."}
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as perr:
        events.put_rule(Name="bad", EventPattern='{"source": "x"}')
    assert perr.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps({
        "id": "1", "account": "000000000000", "source": "shop.orders", "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail-type": "x", "detail": {}}))["Result"] is True


def test_schedule_rule_fires_in_daemon_virtual_time(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    target = queue_arn(daemon, "ticks")
    events.put_rule(Name="tick", ScheduleExpression="rate(5 minutes)")
    events.put_targets(Rule="tick", Targets=[{"Id": "q", "Arn": target}])
    daemon.advance(3600)
    ticks = [json.loads(b) for b in bodies(daemon, "ticks")]
    assert len(ticks) == 12 and {t["detail-type"] for t in ticks} == {"Scheduled Event"}
    events.disable_rule(Name="tick")


def test_custom_bus_archive_and_replay(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    target = queue_arn(daemon, "replayed")
    bus_arn = events.create_event_bus(Name="shop")["EventBusArn"]
    events.put_rule(Name="all-orders", EventPattern=PATTERN, EventBusName="shop")
    events.put_targets(Rule="all-orders", EventBusName="shop", Targets=[{"Id": "q", "Arn": target}])
    archive_arn = events.create_archive(ArchiveName="shop-archive", EventSourceArn=bus_arn)["ArchiveArn"]
    now = daemon.advance(0)
    events.put_events(Entries=[{"Source": "shop.orders", "DetailType": "T", "Detail": "{}",
                                "EventBusName": "shop"}])
    assert len(bodies(daemon, "replayed")) == 1
    events.start_replay(ReplayName="again", EventSourceArn=archive_arn, EventStartTime=now - 60,
                        EventEndTime=now + 60, Destination={"Arn": bus_arn})
    daemon.advance(5)
    assert events.describe_replay(ReplayName="again")["State"] == "COMPLETED"
    (replayed,) = [json.loads(b) for b in bodies(daemon, "replayed")]
    assert replayed["replay-name"] == "again"
    assert events.describe_archive(ArchiveName="shop-archive")["EventCount"] == 1


def test_api_destination_receives_the_event_over_http(daemon: ServerHandle) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[tuple[str, str, dict[str, str]]] = []
    arrived = threading.Event()

    class Endpoint(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((self.path, body, dict(self.headers)))
            self.send_response(204)
            self.end_headers()
            arrived.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        events = client(daemon, "events")
        conn = events.create_connection(Name="hook", AuthorizationType="BASIC", AuthParameters={
            "BasicAuthParameters": {"Username": "u", "Password": "p"}})["ConnectionArn"]
        dest = events.create_api_destination(
            Name="hook", ConnectionArn=conn, HttpMethod="PUT",
            InvocationEndpoint=f"http://127.0.0.1:{server.server_address[1]}/orders/*")["ApiDestinationArn"]
        events.put_rule(Name="to-http", EventPattern=json.dumps({"source": ["http.test"]}))
        events.put_targets(Rule="to-http", Targets=[{"Id": "h", "Arn": dest, "InputPath": "$.detail",
                                                      "HttpParameters": {"PathParameterValues": ["o-7"]}}])
        events.put_events(Entries=[{"Source": "http.test", "DetailType": "T", "Detail": '{"id": "o-7"}'}])
        assert arrived.wait(timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    ((path, body, headers),) = received
    assert (path, body) == ("/orders/o-7", '{"id":"o-7"}')
    assert headers["Authorization"] == "Basic dTpw"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
