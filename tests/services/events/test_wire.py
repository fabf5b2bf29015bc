"""boto3 against the daemon (virtual clock): EventBridge over AWS JSON 1.1, SQS queues as targets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle
from eventmesh.workers import serve_in_thread
from tests.clients import aws_client as client

PATTERN = json.dumps({"source": ["shop.orders"]})


@pytest.fixture(scope="module")
def daemon(workers: int) -> Iterator[ServerHandle]:
    handle = serve_in_thread(clock="virtual", workers=workers)
    try:
        yield handle
    finally:
        handle.stop()




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


# -- fidelity to recorded AWS answers ----------------------------------------------------------


def error(call: Any) -> tuple[str, str, int]:
    """(Code, Message, HTTP status) of the ClientError ``call`` raises."""
    with pytest.raises(ClientError) as exc:
        call()
    response = exc.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def unchecked(handle: ServerHandle) -> Any:
    return boto3.client("events", endpoint_url=handle.url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x",
                        config=Config(retries={"max_attempts": 1}, parameter_validation=False))


def test_test_event_pattern_needs_no_resources(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    event = {"id": "1", "source": "order", "detail-type": "Test", "account": "000000000000",
             "region": "us-east-1", "time": "2024-01-01T00:00:00Z"}
    pattern = json.dumps({"source": ["order"], "detail-type": ["Test"]})
    assert events.test_event_pattern(Event=json.dumps(event), EventPattern=pattern)["Result"] is True
    event.pop("time")
    assert error(lambda: events.test_event_pattern(Event=json.dumps(event), EventPattern=pattern)) == (
        "ValidationException", "Parameter Event is not valid.", 400)


def test_connections_show_their_secret_arn_and_public_parameters(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    arn = events.create_connection(Name="basic-conn", AuthorizationType="BASIC", AuthParameters={
        "BasicAuthParameters": {"Username": "user", "Password": "pass"},
        "InvocationHttpParameters": {"HeaderParameters": [
            {"Key": "x-tenant", "Value": "acme", "IsValueSecret": False},
            {"Key": "x-token", "Value": "hidden", "IsValueSecret": True}]}})["ConnectionArn"]
    described = events.describe_connection(Name="basic-conn")
    assert "Description" not in described
    assert described["AuthParameters"] == {
        "BasicAuthParameters": {"Username": "user"},
        "InvocationHttpParameters": {"HeaderParameters": [
            {"Key": "x-tenant", "Value": "acme", "IsValueSecret": False}]}}
    assert described["SecretArn"].startswith(
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/basic-conn/")
    assert described["ConnectionState"] == "AUTHORIZED" and "LastAuthorizedTime" in described
    updated = events.update_connection(Name="basic-conn", AuthParameters={
        "BasicAuthParameters": {"Username": "new_user", "Password": "new_pass"}})
    assert updated["ConnectionArn"] == arn and "LastAuthorizedTime" in updated
    assert events.describe_connection(Name="basic-conn")["AuthParameters"]["BasicAuthParameters"] == {
        "Username": "new_user"}
    oauth = events.create_connection(Name="oauth-conn", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
                                     AuthParameters={"OAuthParameters": {
                                         "AuthorizationEndpoint": "https://example.com/oauth", "HttpMethod": "POST",
                                         "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"}}})
    assert oauth["ConnectionState"] == "AUTHORIZING"
    assert events.describe_connection(Name="oauth-conn")["AuthParameters"] == {"OAuthParameters": {
        "AuthorizationEndpoint": "https://example.com/oauth", "ClientParameters": {"ClientID": "id"},
        "HttpMethod": "POST"}}
    deleted = events.delete_connection(Name="oauth-conn")
    assert deleted["ConnectionState"] == "DELETING" and "LastAuthorizedTime" in deleted
    assert error(lambda: events.describe_connection(Name="oauth-conn")) == (
        "ResourceNotFoundException",
        "Failed to describe the connection(s). Connection 'oauth-conn' does not exist.", 400)


def test_request_validation_reports_every_constraint(daemon: ServerHandle) -> None:
    raw = unchecked(daemon)
    name = "This should fail with two errors 123467890123412341234123412341234"
    assert error(lambda: raw.create_connection(Name=name, AuthorizationType="INVALID", AuthParameters={})) == (
        "ValidationException",
        f"3 validation errors detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have "
        f"length less than or equal to 64; Value '{name}' at 'name' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; Value 'INVALID' at 'authorizationType' failed "
        "to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]",
        400)
    assert error(lambda: raw.create_api_destination(
        Name="dest", ConnectionArn="invalid-connection-arn", InvocationEndpoint="https://example.com/api",
        HttpMethod="INVALID_METHOD"))[1] == (
        "2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\\-)*:events:([a-z]|\\d|\\-)*:"
        "([0-9]{12})?:connection\\/[\\.\\-_A-Za-z0-9]+\\/[\\-A-Za-z0-9]+$; Value 'INVALID_METHOD' at 'httpMethod' "
        "failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, "
        "OPTIONS]")
    events = client(daemon, "events")
    events.put_rule(Name="ids", EventPattern=PATTERN)
    ids_queue = queue_arn(daemon, "ids")
    assert error(lambda: raw.put_targets(Rule="ids", Targets=[{"Id": "!@#$@!#$", "Arn": ids_queue}]))[1] \
        == ("1 validation error detected: Value '!@#$@!#$' at 'targets.1.member.id' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
    assert error(lambda: events.put_targets(Rule="ids", Targets=[{"Id": "t", "Arn": "not-an-arn"}]))[1] == (
        "Parameter not-an-arn is not valid. Reason: Provided Arn is not in correct format.")
    fifo = "arn:aws:sqs:us-east-1:000000000000:q.fifo"
    assert error(lambda: events.put_targets(Rule="ids", Targets=[{"Id": "t", "Arn": fifo}]))[1] == (
        "Parameter(s) SqsParameters must be specified for target: t.")
    for expression in ("rate(10 seconds)", "rate(1 minutes)", "rate(10 minute)", "rate(0 minutes)",
                       "rate(10 MINUTES)", "rate( 10 minutes )", " rate(10 minutes)", "rate()", "cron(0 1 * * * *)"):
        assert error(lambda e=expression: events.put_rule(Name="bad-rate", ScheduleExpression=e)) == (
            "ValidationException", "Parameter ScheduleExpression is not valid.", 400)


def test_api_destinations_update_and_default_rate(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    connection = events.create_connection(Name="dest-conn", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "ApiKey", "ApiKeyValue": "secret"}})["ConnectionArn"]
    created = events.create_api_destination(Name="dest", ConnectionArn=connection, HttpMethod="POST",
                                            InvocationEndpoint="https://example.com/api")
    assert created["ApiDestinationState"] == "ACTIVE"
    described = events.describe_api_destination(Name="dest")
    assert described["InvocationRateLimitPerSecond"] == 300 and "Description" not in described
    events.update_api_destination(Name="dest", Description="Updated", HttpMethod="PUT",
                                  InvocationEndpoint="https://example.com/api/v2")
    described = events.describe_api_destination(Name="dest")
    assert (described["Description"], described["HttpMethod"], described["InvocationEndpoint"]) == (
        "Updated", "PUT", "https://example.com/api/v2")
    events.delete_api_destination(Name="dest")
    assert error(lambda: events.describe_api_destination(Name="dest"))[1] == (
        "Failed to describe the api-destination(s). An api-destination 'dest' does not exist.")


def test_bus_permissions_policy_and_update(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    arn = events.create_event_bus(Name="shared")["EventBusArn"]
    events.put_permission(EventBusName="shared", Action="events:PutEvents", Principal="111122223333",
                          StatementId="one")
    events.put_permission(EventBusName="shared", Action="events:PutEvents", Principal="*", StatementId="all")
    policy = json.loads(events.describe_event_bus(Name="shared")["Policy"])
    assert policy == {"Version": "2012-10-17", "Statement": [
        {"Sid": "one", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "events:PutEvents", "Resource": arn},
        {"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": arn}]}
    events.remove_permission(EventBusName="shared", StatementId="one")
    assert [s["Sid"] for s in json.loads(events.describe_event_bus(Name="shared")["Policy"])["Statement"]] == ["all"]
    assert error(lambda: events.remove_permission(EventBusName="shared", StatementId="nope")) == (
        "ResourceNotFoundException", "Statement with the provided id does not exist.", 400)
    events.remove_permission(EventBusName="shared", RemoveAllPermissions=True)
    assert "Policy" not in events.describe_event_bus(Name="shared")
    assert error(lambda: events.put_permission(EventBusName="missing", Action="events:PutEvents", Principal="*",
                                               StatementId="x"))[1] == "Event bus missing does not exist."
    updated = events.update_event_bus(Name="shared", Description="now described")
    assert updated["Description"] == "now described" and updated["Arn"] == arn


def test_errors_for_replays_tags_and_too_many_entries(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    bus = events.describe_event_bus()["Arn"]
    archive = "arn:aws:events:us-east-1:000000000000:archive/missing"
    assert error(lambda: events.start_replay(ReplayName="r", EventSourceArn=archive, EventStartTime=0,
                                             EventEndTime=100, Destination={"Arn": bus})) == (
        "ValidationException", "Parameter EventSourceArn is not valid. Reason: Archive missing does not exist.", 400)
    rule = "arn:aws:events:us-east-1:000000000000:rule/nope"
    for call in (lambda: events.tag_resource(ResourceARN=rule, Tags=[{"Key": "k", "Value": "v"}]),
                 lambda: events.list_tags_for_resource(ResourceARN=rule),
                 lambda: events.untag_resource(ResourceARN=rule, TagKeys=["k"])):
        assert error(call) == ("ResourceNotFoundException", "Rule nope does not exist on EventBus default.", 400)
    missing_bus = "arn:aws:events:us-east-1:000000000000:event-bus/nope"
    assert error(lambda: events.list_tags_for_resource(ResourceARN=missing_bus))[1] == "Event bus nope does not exist."
    entries = [{"Source": "s", "DetailType": "d", "Detail": '{"a": 1}'} for _ in range(11)]
    code, message, status = error(lambda: events.put_events(Entries=entries))
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("1 validation error detected: Value '[PutEventsRequestEntry(time=null, source=s, "
                              "resources=null, detailType=d, detail={\"a\": 1}, eventBusName=null, traceHeader=null, "
                              "kmsKeyIdentifier=null, internalMetadata=null), ")
    assert message.endswith("]' at 'entries' failed to satisfy constraint: Member must have length less than or "
                            "equal to 10")


def test_list_operations_page_with_opaque_tokens(daemon: ServerHandle) -> None:
    events = client(daemon, "events")
    for i in range(5):
        events.create_event_bus(Name=f"paged-{i}")
    first = events.list_event_buses(NamePrefix="paged-", Limit=3)
    assert [b["Name"] for b in first["EventBuses"]] == ["paged-0", "paged-1", "paged-2"]
    assert not first["NextToken"].isdigit()
    second = events.list_event_buses(NamePrefix="paged-", Limit=3, NextToken=first["NextToken"])
    assert [b["Name"] for b in second["EventBuses"]] == ["paged-3", "paged-4"] and "NextToken" not in second
    assert error(lambda: events.list_event_buses(NextToken="garbage"))[:2] == (
        "ValidationException", "Invalid NextToken")


def test_trace_header_reaches_sqs_targets(daemon: ServerHandle) -> None:
    events, sqs = client(daemon, "events"), client(daemon, "sqs")
    target = queue_arn(daemon, "traced-events")
    events.put_rule(Name="traced", EventPattern=json.dumps({"source": ["traced"]}))
    events.put_targets(Rule="traced", Targets=[{"Id": "q", "Arn": target}])
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    events.put_events(Entries=[{"Source": "traced", "DetailType": "d", "Detail": "{}", "TraceHeader": trace}])
    url = sqs.get_queue_url(QueueName="traced-events")["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert message["Attributes"]["AWSTraceHeader"] == trace


def client_as(handle: ServerHandle, service: str, region: str, account: str = "x") -> Any:
    """A client of another Region, or account (an access key that is a 12-digit id is that account)."""
    return boto3.client(service, endpoint_url=handle.url, region_name=region, aws_access_key_id=account,
                        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))


def raw_put_events(handle: ServerHandle, body: dict[str, Any]) -> dict[str, Any]:
    """PutEvents without boto3: with ``EndpointId`` boto3 signs with SigV4a, which needs awscrt."""
    import urllib.request

    request = urllib.request.Request(handle.url + "/", data=json.dumps(body).encode(), method="POST", headers={
        "X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/events/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_global_endpoint_routes_to_the_primary_and_replicates(daemon: ServerHandle) -> None:
    east, west = client_as(daemon, "events", "us-east-1"), client_as(daemon, "events", "us-west-2")
    for events, region in ((east, "us-east-1"), (west, "us-west-2")):
        events.create_event_bus(Name="orders-global")
        sqs = client_as(daemon, "sqs", region)
        url = sqs.create_queue(QueueName="global-copy")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName="orders-global", EventPattern=json.dumps({"source": ["shop"]}))
        events.put_targets(Rule="all", EventBusName="orders-global", Targets=[{"Id": "q", "Arn": arn}])
    buses = [{"EventBusArn": f"arn:aws:events:{r}:000000000000:event-bus/orders-global"}
             for r in ("us-east-1", "us-west-2")]
    routing = {"FailoverConfig": {"Primary": {"HealthCheck": "arn:aws:route53:::healthcheck/abc"},
                                  "Secondary": {"Route": "us-west-2"}}}
    with pytest.raises(ClientError) as caught:
        east.create_endpoint(Name="ep", RoutingConfig=routing, EventBuses=buses)
    assert caught.value.response["Error"]["Code"] == "ValidationException"  # replication needs a role
    created = east.create_endpoint(Name="ep", RoutingConfig=routing, EventBuses=buses,
                                   RoleArn="arn:aws:iam::000000000000:role/replication")
    assert (created["State"], "EndpointId" in created) == ("CREATING", False)
    described = east.describe_endpoint(Name="ep")
    assert described["State"] == "ACTIVE"
    assert described["EndpointUrl"] == f"https://{described['EndpointId']}.endpoint.events.amazonaws.com"
    assert [e["Name"] for e in east.list_endpoints()["Endpoints"]] == ["ep"]

    answer = raw_put_events(daemon, {"EndpointId": described["EndpointId"], "Entries": [
        {"Source": "shop", "DetailType": "d", "Detail": "{}", "EventBusName": "orders-global"}]})
    assert answer["FailedEntryCount"] == 0
    for region in ("us-east-1", "us-west-2"):  # replication is ENABLED: both Regions get it
        sqs = client_as(daemon, "sqs", region)
        url = sqs.get_queue_url(QueueName="global-copy")["QueueUrl"]
        (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
        assert json.loads(message["Body"])["region"] == region

    east.update_endpoint(Name="ep", ReplicationConfig={"State": "DISABLED"})
    raw_put_events(daemon, {"EndpointId": described["EndpointId"], "Entries": [
        {"Source": "shop", "DetailType": "d", "Detail": "{}", "EventBusName": "orders-global"}]})
    west_sqs = client_as(daemon, "sqs", "us-west-2")
    west_url = west_sqs.get_queue_url(QueueName="global-copy")["QueueUrl"]
    daemon.advance(31)  # the first copy's visibility timeout
    assert len(west_sqs.receive_message(QueueUrl=west_url, MaxNumberOfMessages=10)["Messages"]) == 1
    east.delete_endpoint(Name="ep")
    with pytest.raises(ClientError) as caught:
        east.describe_endpoint(Name="ep")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_partner_event_source_reaches_the_partner_bus(daemon: ServerHandle) -> None:
    partner = client_as(daemon, "events", "us-east-1", "111122223333")
    customer = client(daemon, "events")
    name = "aws.partner/saas.example/tenant-1/orders"
    arn = partner.create_partner_event_source(Name=name, Account="000000000000")["EventSourceArn"]
    assert arn == f"arn:aws:events:us-east-1::event-source/{name}"
    source = customer.describe_event_source(Name=name)
    assert (source["State"], source["CreatedBy"], "ExpirationTime" in source) == ("PENDING", "saas.example", True)
    assert [s["Name"] for s in customer.list_event_sources(NamePrefix="aws.partner/saas")["EventSources"]] == [name]
    assert partner.list_partner_event_sources(NamePrefix="aws.partner/saas.example/")["PartnerEventSources"] == [
        {"Arn": arn, "Name": name}]

    customer.create_event_bus(Name=name, EventSourceName=name)
    assert customer.describe_event_source(Name=name)["State"] == "ACTIVE"
    target = queue_arn(daemon, "partner-events")
    customer.put_rule(Name="partner", EventBusName=name, EventPattern=json.dumps({"source": [name]}))
    customer.put_targets(Rule="partner", EventBusName=name, Targets=[{"Id": "q", "Arn": target}])
    answer = partner.put_partner_events(Entries=[
        {"Source": name, "DetailType": "Order", "Detail": '{"n": 1}'},
        {"Source": "aws.partner/saas.example/tenant-1/other", "DetailType": "Order", "Detail": "{}"}])
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][1]["ErrorCode"] == "NotAuthorizedForSourceException"
    (body,) = bodies(daemon, "partner-events")
    assert (json.loads(body)["account"], json.loads(body)["detail"]) == ("000000000000", {"n": 1})

    customer.deactivate_event_source(Name=name)
    assert customer.describe_event_source(Name=name)["State"] == "PENDING"
    partner.put_partner_events(Entries=[{"Source": name, "DetailType": "Order", "Detail": "{}"}])
    assert bodies(daemon, "partner-events") == []  # not delivered while PENDING
    customer.activate_event_source(Name=name)
    accounts = partner.list_partner_event_source_accounts(EventSourceName=name)["PartnerEventSourceAccounts"]
    assert [(a["Account"], a["State"]) for a in accounts] == [("000000000000", "ACTIVE")]
    partner.delete_partner_event_source(Name=name, Account="000000000000")
    with pytest.raises(ClientError) as caught:
        customer.describe_event_source(Name=name)
    assert caught.value.response["Error"] == {
        "Code": "ResourceNotFoundException", "Message": f"Event source {name} does not exist."}
    with pytest.raises(ClientError) as caught:
        customer.create_event_bus(Name=name, EventSourceName=name + "x")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
