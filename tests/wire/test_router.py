"""The protocol layer end to end with a stand-in SQS service, over real HTTP with boto3."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from eventmesh.daemon import serve_in_thread
from eventmesh.errors import ServiceError
from eventmesh.services.sqs import query_model
from eventmesh.wire.protocols.query import QueryNames
from eventmesh.wire.service import Deferred, RequestContext, Service


class QueueDoesNotExist(ServiceError):
    code = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"


def _stand_in() -> Service:
    service = Service("sqs", query_compatible=True, json_error_prefix="com.amazonaws.sqs#",
                      query_names=QueryNames(query_model.MEMBER_NAMES, query_model.MAP_ENTRY_NAMES),
                      xml_namespace=query_model.XML_NAMESPACE)
    messages: list[dict] = []
    polls: list[asyncio.Future[None]] = []
    polling = threading.Event()  # set when a long poll waits

    @service.operation("GetQueueUrl")
    def get_queue_url(ctx: RequestContext, params: dict) -> dict:
        if params["QueueName"] != "q":
            raise QueueDoesNotExist("The specified queue does not exist.")
        return {"QueueUrl": f"http://{ctx.host}/{ctx.account_id}/q"}

    @service.operation("SendMessage")
    def send_message(ctx: RequestContext, params: dict) -> dict:
        messages.append(params)
        while polls:
            poll = polls.pop(0)
            if not poll.done():
                poll.set_result(None)
        return {"MessageId": "m-1", "MD5OfMessageBody": "x"}

    def take(_: object = None) -> dict:
        out = [{"MessageId": "m-1", "Body": m["MessageBody"], "ReceiptHandle": "h",
                "MessageAttributes": m.get("MessageAttributes", {})} for m in messages]
        messages.clear()
        return {"Messages": out} if out else {}

    @service.operation("ReceiveMessage")
    def receive_message(ctx: RequestContext, params: dict) -> dict | Deferred:
        """A long poll answers later (a Deferred): at the next send, or when the wait passes."""
        wait = params.get("WaitTimeSeconds", 0)
        if messages or not wait:
            return take()
        poll: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        polls.append(poll)
        polling.set()
        ctx.mesh.clock.call_later(wait, lambda: poll.done() or poll.set_result(None))
        return Deferred(poll, take)

    service.polling = polling  # type: ignore[attr-defined]  # the tests wait until a poll waits

    return service


def _until_polling(server) -> None:
    """Until the client's long poll waits in the stand-in service (at most 10 s)."""
    polling = server.daemon.api.services["sqs"].service.polling
    assert polling.wait(10), "the long poll never reached the daemon"
    polling.clear()


@pytest.fixture(scope="module")
def server():
    handle = serve_in_thread(services=[])
    handle.daemon.api.register(_stand_in())
    yield handle
    handle.stop()


@pytest.fixture
def sqs(server):
    return boto3.client("sqs", endpoint_url=server.url, region_name="eu-west-1", aws_access_key_id="a",
                        aws_secret_access_key="b", config=BotoConfig(retries={"total_max_attempts": 1}))


def test_json_protocol_round_trip(sqs) -> None:
    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    assert url.endswith("/000000000000/q")
    sqs.send_message(QueueUrl=url, MessageBody="hi",
                     MessageAttributes={"a": {"DataType": "String", "StringValue": "v"}})
    got = sqs.receive_message(QueueUrl=url)["Messages"]
    assert got[0]["Body"] == "hi"
    assert got[0]["MessageAttributes"] == {"a": {"DataType": "String", "StringValue": "v"}}


def test_query_compatible_error_picks_the_modelled_exception(sqs) -> None:
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="nope")
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_model_validation_rejects_missing_members(sqs) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", int(sqs.meta.endpoint_url.rsplit(":", 1)[1]))
    conn.request("POST", "/", b"{}", {"X-Amz-Target": "AmazonSQS.GetQueueUrl",
                                      "Content-Type": "application/x-amz-json-1.0"})
    reply = conn.getresponse()
    body = json.loads(reply.read())
    assert reply.status == 400
    assert body["__type"].endswith("ValidationException")
    assert "queueName" in body["message"]


def test_query_protocol_parses_flattened_members_and_renders_xml(server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.daemon.bound_port)
    form = ("Action=SendMessage&Version=2012-11-05&MessageBody=hello"
            "&MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String"
            "&MessageAttribute.1.Value.StringValue=red")
    conn.request("POST", "/000000000000/q", form, {"Content-Type": "application/x-www-form-urlencoded"})
    reply = conn.getresponse()
    text = reply.read().decode()
    assert reply.status == 200
    assert "<SendMessageResult><MD5OfMessageBody>x</MD5OfMessageBody><MessageId>m-1</MessageId>" in text
    conn.request("POST", "/000000000000/q", "Action=ReceiveMessage&Version=2012-11-05",
                 {"Content-Type": "application/x-www-form-urlencoded"})
    text = conn.getresponse().read().decode()
    assert "<Message><MessageId>m-1</MessageId><ReceiptHandle>h</ReceiptHandle><Body>hello</Body>" in text
    assert ("<MessageAttribute><Name>color</Name><Value><StringValue>red</StringValue>"
            "<DataType>String</DataType></Value></MessageAttribute>") in text


def test_query_error_is_xml_with_legacy_code(server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.daemon.bound_port)
    conn.request("GET", "/?Action=GetQueueUrl&QueueName=nope&Version=2012-11-05")
    reply = conn.getresponse()
    text = reply.read().decode()
    assert reply.status == 400
    assert "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>" in text
    assert "<Type>Sender</Type>" in text


def test_long_poll_returns_when_a_message_arrives_in_virtual_time(server, sqs) -> None:
    import threading

    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    result: dict = {}
    poller = threading.Thread(target=lambda: result.update(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
    poller.start()
    # The poll waits on the mesh clock, which is virtual: it only ends when a message arrives.
    _until_polling(server)
    sqs.send_message(QueueUrl=url, MessageBody="late")
    poller.join(10)
    assert [m["Body"] for m in result["Messages"]] == ["late"]


def test_long_poll_times_out_when_the_virtual_clock_passes_the_wait(server, sqs) -> None:
    import threading

    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    result: dict = {}
    poller = threading.Thread(target=lambda: result.update(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)))
    poller.start()
    _until_polling(server)
    before = server.mesh.clock.now()
    server.advance(5)
    poller.join(10)
    assert "Messages" not in result
    assert server.mesh.clock.now() == before + 5


def test_unknown_target_and_health(server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.daemon.bound_port)
    conn.request("POST", "/", b"{}", {"X-Amz-Target": "AmazonSQS.Nope", "Content-Type": "application/x-amz-json-1.0"})
    reply = conn.getresponse()
    assert reply.status == 400 and b"UnknownOperationException" in reply.read()
    conn.request("GET", "/_eventmesh/health")
    reply = conn.getresponse()
    assert reply.status == 200 and json.loads(reply.read())["status"] == "ok"
    conn.request("POST", "/", b"not json", {"X-Amz-Target": "AmazonSQS.GetQueueUrl",
                                            "Content-Type": "application/x-amz-json-1.0"})
    reply = conn.getresponse()
    assert reply.status == 400 and b"SerializationException" in reply.read()


def test_query_protocol_client_round_trip(server) -> None:
    from eventmesh.testing import sqs_query_client

    client = sqs_query_client(server.url, region_name="eu-west-1")
    assert client.meta.service_model.protocol == "query"
    url = client.get_queue_url(QueueName="q")["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody="via query",
                        MessageAttributes={"n": {"DataType": "Number", "StringValue": "5"}})
    got = client.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert got[0]["Body"] == "via query"
    assert got[0]["MessageAttributes"] == {"n": {"DataType": "Number", "StringValue": "5"}}
    with pytest.raises(ClientError) as caught:
        client.get_queue_url(QueueName="nope")
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_the_caller_scope_is_the_signed_region_and_an_account_id_key() -> None:
    from eventmesh.wire.router import caller_scope

    def signed(key: str, region: str) -> dict[str, str]:
        return {"authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/sqs/aws4_request, "
                                 "SignedHeaders=host, Signature=abc"}

    assert caller_scope(signed("AKIAEXAMPLE", "eu-west-1")) == (None, "eu-west-1")
    assert caller_scope(signed("111122223333", "ap-south-1")) == ("111122223333", "ap-south-1")
    assert caller_scope({}) == (None, None)
    assert caller_scope({"authorization": "Bearer nothing"}) == (None, None)
