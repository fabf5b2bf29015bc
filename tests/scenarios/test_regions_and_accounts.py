"""Resources live per account and Region, as on AWS: the SigV4 credential scope says which.

A client signing for eu-west-1 sees eu-west-1's resources only; an access key that is a 12-digit
account id acts in that account. Deliveries address resources by ARN, so they cross Regions.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from eventmesh.daemon import ServerHandle
from eventmesh.workers import serve_in_thread

OTHER_ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def daemon(workers: int) -> Any:
    handle = serve_in_thread(clock="virtual", workers=workers)
    yield handle
    handle.stop()


def client(daemon: ServerHandle, service: str, region: str = "us-east-1", key: str = "x") -> Any:
    return boto3.client(service, endpoint_url=daemon.url, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key="x")


def test_a_topic_is_listed_only_in_its_region(daemon: ServerHandle) -> None:
    east, west = client(daemon, "sns"), client(daemon, "sns", "eu-west-1")
    arn = east.create_topic(Name="regional")["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:000000000000:regional"
    assert arn in [t["TopicArn"] for t in east.list_topics()["Topics"]]
    assert arn not in [t["TopicArn"] for t in west.list_topics()["Topics"]]
    west_arn = west.create_topic(Name="regional")["TopicArn"]
    assert west_arn == "arn:aws:sns:eu-west-1:000000000000:regional"


def test_buses_of_one_name_live_side_by_side_in_two_regions(daemon: ServerHandle) -> None:
    east, west = client(daemon, "events"), client(daemon, "events", "eu-west-1")
    east_arn = east.create_event_bus(Name="orders")["EventBusArn"]
    west_arn = west.create_event_bus(Name="orders")["EventBusArn"]
    assert east_arn.split(":")[3] == "us-east-1" and west_arn.split(":")[3] == "eu-west-1"
    west.delete_event_bus(Name="orders")
    assert east.describe_event_bus(Name="orders")["Arn"] == east_arn
    with pytest.raises(ClientError):
        west.describe_event_bus(Name="orders")


def test_queue_urls_carry_the_region_and_resolve_in_it(daemon: ServerHandle) -> None:
    east, west = client(daemon, "sqs"), client(daemon, "sqs", "eu-west-1")
    east_url = east.create_queue(QueueName="jobs")["QueueUrl"]
    west_url = west.create_queue(QueueName="jobs")["QueueUrl"]
    assert east_url == f"{daemon.url}/queue/us-east-1/000000000000/jobs"
    assert west_url == f"{daemon.url}/queue/eu-west-1/000000000000/jobs"
    west.send_message(QueueUrl=west_url, MessageBody="for the west")
    assert "Messages" not in east.receive_message(QueueUrl=east_url)
    assert [m["Body"] for m in west.receive_message(QueueUrl=west_url)["Messages"]] == ["for the west"]
    assert east_url in east.list_queues(QueueNamePrefix="jobs")["QueueUrls"]
    assert west_url not in east.list_queues(QueueNamePrefix="jobs")["QueueUrls"]
    # The form of earlier versions (no Region) is still accepted, in the caller's Region.
    legacy = f"{daemon.url}/000000000000/jobs"
    assert east.get_queue_attributes(QueueUrl=legacy, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"] \
        == "arn:aws:sqs:us-east-1:000000000000:jobs"


def test_an_account_id_as_access_key_is_an_account_of_its_own(daemon: ServerHandle) -> None:
    mine, theirs = client(daemon, "sqs"), client(daemon, "sqs", key=OTHER_ACCOUNT)
    url = theirs.create_queue(QueueName="private")["QueueUrl"]
    assert f"/{OTHER_ACCOUNT}/private" in url
    assert url not in mine.list_queues().get("QueueUrls", [])
    with pytest.raises(ClientError) as info:
        mine.send_message(QueueUrl=url, MessageBody="not yours")
    assert "NonExistentQueue" in str(info.value) or "QueueDoesNotExist" in str(info.value)
    lam = client(daemon, "lambda", key=OTHER_ACCOUNT)
    assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 1000


def test_a_subscription_delivers_across_regions_by_arn(daemon: ServerHandle) -> None:
    sns, sqs = client(daemon, "sns", "eu-west-1"), client(daemon, "sqs", "us-west-2")
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="cross")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message=json.dumps({"hello": "west"}))
    daemon.advance(0)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ['{"hello": "west"}']


def test_metrics_tell_regions_apart_and_keep_the_home_regions_series_as_they_were(daemon: ServerHandle) -> None:
    import urllib.request

    client(daemon, "sqs", "ap-south-1").create_queue(QueueName="metered")
    client(daemon, "sqs").create_queue(QueueName="metered")
    text = urllib.request.urlopen(f"{daemon.url}/metrics", timeout=10).read().decode()
    assert 'aws_sqs_number_of_messages_sent_total{queue_name="metered"} 0.0' in text
    assert ('aws_sqs_number_of_messages_sent_total{account_id="000000000000",queue_name="metered",'
            'region="ap-south-1"} 0.0') in text
