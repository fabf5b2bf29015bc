"""The SNS adapter in process: model-shaped requests in, model-shaped results out, and the Query wire."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from eventmesh.effects import Delivery, DeliveryResult
from eventmesh.services import adapters
from eventmesh.services.sns.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameter,
    NotFound,
    TooManyEntriesInBatchRequest,
    ValidationError,
)
from eventmesh.testing import virtual_mesh
from eventmesh.wire.router import Api, Request

NS = 'xmlns="http://sns.amazonaws.com/doc/2010-03-31/"'


class Recorder:
    def __init__(self, arn: str) -> None:
        self.arn = arn
        self.items: list[Delivery] = []

    def accept(self, items: list[Delivery], source_arn: str) -> DeliveryResult:
        self.items += items
        return DeliveryResult()


@pytest.fixture
def api() -> Api:
    mesh, _ = virtual_mesh()
    return Api(mesh, adapters(["sns"]))


def call(api: Api, operation: str, **params: Any) -> Any:
    return api.call("sns", operation, params, host="127.0.0.1:4566")


def queue(api: Api, name: str) -> Recorder:
    return api.mesh.add(Recorder(api.mesh.arn("sqs", name)))  # type: ignore[no-any-return]


def test_topic_lifecycle(api: Api) -> None:
    arn = call(api, "CreateTopic", Name="orders", Attributes={"DisplayName": "Orders"},
               Tags=[{"Key": "team", "Value": "shop"}])["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:000000000000:orders"
    assert call(api, "ListTopics") == {"Topics": [{"TopicArn": arn}]}
    call(api, "SetTopicAttributes", TopicArn=arn, AttributeName="DisplayName", AttributeValue="New")
    assert call(api, "GetTopicAttributes", TopicArn=arn)["Attributes"]["DisplayName"] == "New"
    assert call(api, "ListTagsForResource", ResourceArn=arn) == {"Tags": [{"Key": "team", "Value": "shop"}]}
    call(api, "TagResource", ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    call(api, "UntagResource", ResourceArn=arn, TagKeys=["team"])
    assert call(api, "ListTagsForResource", ResourceArn=arn) == {"Tags": [{"Key": "env", "Value": "dev"}]}
    call(api, "DeleteTopic", TopicArn=arn)
    call(api, "DeleteTopic", TopicArn=arn)
    assert call(api, "ListTopics") == {"Topics": []}
    with pytest.raises(NotFound):
        call(api, "GetTopicAttributes", TopicArn=arn)


def test_subscribe_publish_and_list(api: Api) -> None:
    arn = call(api, "CreateTopic", Name="t")["TopicArn"]
    q = queue(api, "q")
    sub = call(api, "Subscribe", TopicArn=arn, Protocol="sqs", Endpoint=q.arn,
               Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    out = call(api, "Publish", TopicArn=arn, Message="hi", MessageAttributes={
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    assert set(out) == {"MessageId"}
    assert [(i.body, i.attributes) for i in q.items] == [
        ("hi", {"b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})]
    listed = call(api, "ListSubscriptionsByTopic", TopicArn=arn)["Subscriptions"]
    assert listed == [{"SubscriptionArn": sub, "Owner": "000000000000", "Protocol": "sqs",
                       "Endpoint": q.arn, "TopicArn": arn}]
    assert call(api, "ListSubscriptions")["Subscriptions"] == listed
    call(api, "SetSubscriptionAttributes", SubscriptionArn=sub, AttributeName="RawMessageDelivery",
         AttributeValue="false")
    attrs = call(api, "GetSubscriptionAttributes", SubscriptionArn=sub)["Attributes"]
    assert attrs["RawMessageDelivery"] == "false"
    call(api, "Unsubscribe", SubscriptionArn=sub)
    assert call(api, "ListSubscriptions")["Subscriptions"] == []


def test_http_subscription_is_pending_and_confirmed_by_token(api: Api) -> None:
    from eventmesh.effects import HttpRequest

    posts: list[HttpRequest] = []
    api.mesh.subscribe(HttpRequest, posts.append)
    arn = call(api, "CreateTopic", Name="t")["TopicArn"]
    assert call(api, "Subscribe", TopicArn=arn, Protocol="http",
                Endpoint="http://127.0.0.1:9/x") == {"SubscriptionArn": "pending confirmation"}
    body = json.loads(posts[0].body)
    assert body["SubscribeURL"].startswith("http://127.0.0.1:4566/?Action=ConfirmSubscription&TopicArn=")
    assert call(api, "ListSubscriptions")["Subscriptions"][0]["SubscriptionArn"] == "PendingConfirmation"
    sub = call(api, "ConfirmSubscription", TopicArn=arn, Token=body["Token"])["SubscriptionArn"]
    got = call(api, "GetSubscriptionAttributes", SubscriptionArn=sub)["Attributes"]
    assert got["PendingConfirmation"] == "false"
    with pytest.raises(InvalidParameter):
        call(api, "ConfirmSubscription", TopicArn=arn, Token="bogus")


def test_publish_batch_answers_every_entry_or_fails_whole(api: Api) -> None:
    fifo = {"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    arn = call(api, "CreateTopic", Name="t.fifo", Attributes=fifo)["TopicArn"]
    with pytest.raises(InvalidParameter) as exc:
        call(api, "PublishBatch", TopicArn=arn, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "one", "MessageGroupId": "g"},
            {"Id": "b", "Message": "two", "MessageGroupId": "g", "Subject": "bad\nsubject"}])
    assert exc.value.message == "Invalid parameter: Subject"
    out = call(api, "PublishBatch", TopicArn=arn, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "one", "MessageGroupId": "g"},
        {"Id": "b", "Message": "two", "MessageGroupId": "g"}])
    assert [e["Id"] for e in out["Successful"]] == ["a", "b"] and out["Failed"] == []
    assert [e["SequenceNumber"] for e in out["Successful"]] == ["10000000000000000001", "10000000000000000002"]


@pytest.mark.parametrize(("entries", "error"), [
    ([], EmptyBatchRequest),
    ([{"Id": str(i), "Message": "m"} for i in range(11)], TooManyEntriesInBatchRequest),
    ([{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "m"}], BatchEntryIdsNotDistinct),
    ([{"Id": "msg@123#test", "Message": "m"}], InvalidBatchEntryId),
])
def test_publish_batch_request_errors(api: Api, entries: list[dict[str, str]], error: type) -> None:
    arn = call(api, "CreateTopic", Name="t")["TopicArn"]
    with pytest.raises(error):
        api.call("sns", "PublishBatch", {"TopicArn": arn, "PublishBatchRequestEntries": entries})


def test_publish_needs_a_target(api: Api) -> None:
    with pytest.raises(InvalidParameter) as exc:
        call(api, "Publish", Message="x")
    assert exc.value.message == ("Invalid parameter: TopicArn or TargetArn Reason: no value for required "
                                 "parameter")
    with pytest.raises(InvalidParameter) as exc:  # a missing top-level member, in SNS's words
        call(api, "Publish", TopicArn="arn:aws:sns:us-east-1:000000000000:t")
    assert exc.value.message == "Invalid parameter: Message Reason: no value for required parameter"
    arn = call(api, "CreateTopic", Name="t")["TopicArn"]
    with pytest.raises(ValidationError) as exc:
        call(api, "Publish", TopicArn=arn, Message="x", MessageAttributes={"attr1": {"StringValue": "v"}})
    assert exc.value.message == ("1 validation error detected: Value null at 'messageAttributes.attr1.member."
                                 "dataType' failed to satisfy constraint: Member must not be null")


def _query(api: Api, **form: str) -> tuple[int, str]:
    body = urlencode({"Version": "2010-03-31", **form}).encode()
    response = api.handle(Request("POST", "/", "", {"content-type": "application/x-www-form-urlencoded",
                                                     "host": "127.0.0.1:4566"}, body))
    status, _, payload = response  # type: ignore[misc]
    return status, payload.decode()


def test_query_wire_round_trip(api: Api) -> None:
    status, xml = _query(api, Action="CreateTopic", Name="wire",
                         **{"Attributes.entry.1.key": "DisplayName", "Attributes.entry.1.value": "W"})
    assert status == 200
    assert xml.startswith(f'<?xml version="1.0"?><CreateTopicResponse {NS}><CreateTopicResult><TopicArn>'
                          "arn:aws:sns:us-east-1:000000000000:wire</TopicArn></CreateTopicResult>")
    status, xml = _query(api, Action="GetTopicAttributes", TopicArn="arn:aws:sns:us-east-1:000000000000:wire")
    assert "<entry><key>DisplayName</key><value>W</value></entry>" in xml
    status, xml = _query(api, Action="GetTopicAttributes", TopicArn="arn:aws:sns:us-east-1:000000000000:nope")
    assert status == 404
    assert "<Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message>" in xml


def test_sns_query_errors_have_no_detail_but_sqs_keep_it() -> None:
    mesh, _ = virtual_mesh()
    api = Api(mesh, adapters(["sns", "sqs"]))
    form = {"content-type": "application/x-www-form-urlencoded", "host": "127.0.0.1:4566"}
    sns = api.handle(Request("POST", "/", "", form, urlencode({
        "Action": "GetTopicAttributes", "Version": "2010-03-31",
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:nope"}).encode()))
    sqs = api.handle(Request("POST", "/", "", form, urlencode({
        "Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": "nope"}).encode()))
    assert isinstance(sns, tuple) and isinstance(sqs, tuple)
    assert sns[0] == 404 and b"<Message>Topic does not exist</Message></Error>" in sns[2]
    assert b"<Detail/>" in sqs[2]
