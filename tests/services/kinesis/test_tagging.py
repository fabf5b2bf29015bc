"""Tags and resource policies of streams and consumers over the wire (boto3 against the daemon):
the stream operations (AddTagsToStream …) and the ARN ones (TagResource …) see the same tags.
https://docs.aws.amazon.com/streams/latest/dev/tagging.html
https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutResourcePolicy.html"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventmesh.services.kinesis.tagging import MAX_TAGS_PER_RESOURCE


def stream_arn(kinesis: Any, name: str, **tags: str) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=1, **({"Tags": tags} if tags else {}))
    return str(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"])


def error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_stream_tags_are_one_set_whichever_operation_names_them(kinesis):
    arn = stream_arn(kinesis, "tagged", team="a")
    kinesis.tag_resource(ResourceARN=arn, Tags={"env": "dev", "team": "b"})
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}]
    assert kinesis.list_tags_for_stream(StreamName="tagged")["Tags"] == [
        {"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}]
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["team", "never-set"])
    kinesis.add_tags_to_stream(StreamName="tagged", Tags={"cost": "7"})
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "cost", "Value": "7"}, {"Key": "env", "Value": "dev"}]


def test_a_consumer_has_its_own_tags(kinesis):
    arn = stream_arn(kinesis, "fanned", on="stream")
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader",
                                                Tags={"on": "consumer"})["Consumer"]["ConsumerARN"]
    kinesis.tag_resource(ResourceARN=consumer, Tags={"extra": "1"})
    assert kinesis.list_tags_for_resource(ResourceARN=consumer)["Tags"] == [
        {"Key": "extra", "Value": "1"}, {"Key": "on", "Value": "consumer"}]
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "on", "Value": "stream"}]
    code, _ = error(kinesis.list_tags_for_resource, ResourceARN=consumer.replace("reader", "other"))
    assert code == "ResourceNotFoundException"


def test_tags_past_the_limits_are_refused_and_change_nothing(kinesis):
    arn = stream_arn(kinesis, "limited", keep="me")
    many = {f"k{i}": "v" for i in range(MAX_TAGS_PER_RESOURCE)}  # 50 more beside "keep": 51
    code, message = error(kinesis.tag_resource, ResourceARN=arn, Tags=many)
    assert code == "InvalidArgumentException" and str(MAX_TAGS_PER_RESOURCE) in message
    for bad in ({"aws:owner": "x"}, {"bad#key": "x"}, {"k": "bad#value"}):
        assert error(kinesis.tag_resource, ResourceARN=arn, Tags=bad)[0] == "InvalidArgumentException"
    assert error(kinesis.tag_resource, ResourceARN=arn, Tags={"k": "v" * 257})[0] == "ValidationException"
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "keep", "Value": "me"}]
    code, _ = error(kinesis.create_stream, StreamName="never", ShardCount=1, Tags={"aws:x": "1"})
    assert code == "InvalidArgumentException"
    assert "never" not in kinesis.list_streams()["StreamNames"]
    assert error(kinesis.list_tags_for_resource, ResourceARN=arn + "-gone")[0] == "ResourceNotFoundException"


def test_a_resource_policy_is_kept_answered_and_deleted(kinesis):
    arn = stream_arn(kinesis, "shared")
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kinesis:GetRecords", "Resource": arn}]})
    kinesis.put_resource_policy(ResourceARN=arn, Policy=policy)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == policy
    assert error(kinesis.put_resource_policy, ResourceARN=arn, Policy="not json")[0] == "InvalidArgumentException"
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == policy
    kinesis.delete_resource_policy(ResourceARN=arn)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
